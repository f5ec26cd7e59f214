using Ferry.Daemon.Services;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One listener, validated: what was written (<see cref="Spec"/>), its service, the listener's
/// limits and TLS (<see cref="Policy"/>) and the service's own options, all read in one step,
/// so nothing later can find a bad value.
/// </summary>
internal sealed class ListenerSettings
{
    private ListenerSettings(ListenerSpec spec, ServiceDefinition service, ListenerPolicy policy, object? serviceOptions)
    {
        Spec = spec;
        Service = service;
        Policy = policy;
        ServiceOptions = serviceOptions;
    }

    public ListenerSpec Spec { get; }

    public ServiceDefinition Service { get; }

    public ListenerPolicy Policy { get; }

    /// <summary>What the service's <see cref="ServiceDefinition.ReadOptions"/> made of its keys.</summary>
    public object? ServiceOptions { get; }

    public string? Name => Spec.Name;

    /// <summary>Reads every key of <paramref name="spec"/>; throws <see cref="ServiceOptionException"/> naming the bad one.</summary>
    public static ListenerSettings From(ListenerSpec spec) => From(new OptionReader(spec));

    /// <summary>As <see cref="From(ListenerSpec)"/>, with a reader the caller may ask afterwards which keys were read.</summary>
    internal static ListenerSettings From(OptionReader reader)
    {
        var spec = reader.Spec;
        var service = ServiceCatalog.Find(spec.Service);
        var policy = ListenerPolicy.From(reader, service.Traits);
        reader.BeginService();
        object? options = service.ReadOptions(reader);
        reader.RejectUnknown();
        return new ListenerSettings(spec, service, policy, options);
    }

    public override string ToString() => Spec.ToString();
}
