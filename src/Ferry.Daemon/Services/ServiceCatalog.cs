using Ferry.Daemon.Listeners;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services;

/// <summary>
/// One service a listener can run: its name in <c>--listen PORT=NAME</c>, its traits, how its
/// keys are read (at settings time, so a bad value stops ferryd before any port is taken) and how
/// an instance is made for a listener.
/// </summary>
internal sealed record ServiceDefinition(
    string Name,
    ServiceTraits Traits,
    Func<OptionReader, object?> ReadOptions,
    Func<ServiceContext, IListenerService> Create)
{
    /// <summary>Service keys whose values are file names, made absolute where they were written.</summary>
    public IReadOnlySet<string> PathKeys { get; init; } = new HashSet<string>();
}

/// <summary>
/// The services a listener can run. Each listener gets its own instance (a chat hub is per
/// listener); a service that holds resources implements <see cref="IAsyncDisposable"/> and is
/// disposed after its connections have drained at shutdown.
/// </summary>
internal static class ServiceCatalog
{
    private static readonly ServiceTraits ByteService = new() { NeverBlocks = true };

    /// <summary>Where a silent client is an attack rather than a user thinking: sink's clients are programs.</summary>
    public static readonly TimeSpan SinkFirstByteTimeout = TimeSpan.FromSeconds(30);

    private static readonly ServiceDefinition[] Definitions =
    [
        new("echo", ByteService with { ServesDatagrams = true }, NoOptions, _ => new EchoService()),
        new("discard", ByteService with { ServesDatagrams = true }, NoOptions, _ => new DiscardService()),
        new("daytime", ByteService with { ServesDatagrams = true, AmplifiesDatagrams = true }, NoOptions,
            context => new DaytimeService(context.Time)),
        new("chargen", ByteService with { LoopbackByDefault = true, ServesDatagrams = true, AmplifiesDatagrams = true }, NoOptions,
            _ => new ChargenService()),
        new("chat", ByteService with { LineOriented = true }, Chat.ChatOptions.Read, Chat.ChatService.Create),
        new("broker", ByteService, Broker.BrokerOptions.Read, Broker.BrokerService.Create),
        new("sink", new ServiceTraits { LineOriented = true, FirstByteTimeout = SinkFirstByteTimeout }, Sink.SinkOptions.Read,
            Sink.SinkService.Create) { PathKeys = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "path" } },
        // TLS to the upstreams is CPU work a socket thread must not do for everyone else.
        new("forward", ByteService with { BusyWith = options => ((Forward.ForwardOptions)options!).Tls.Enabled, ServesDatagrams = true },
            Forward.ForwardOptions.Read,
            context => context.Listener.Spec.Transport == ListenerTransport.Udp ? new Forward.DatagramForward(context) : new Forward.ForwardService(context)) { PathKeys = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "upstreamCa" } },
        // The spawn, which holds its thread until the exec, is done on the thread pool by the service itself.
        new("exec", ByteService with { LoopbackByDefault = true, OwnKeys = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "group" } },
            Exec.ExecOptions.Read, context => new Exec.ExecService(context)),
    ];

    private static readonly Dictionary<string, ServiceDefinition> ByName = Definitions.ToDictionary(d => d.Name, StringComparer.Ordinal);

    public static IEnumerable<string> Names => Definitions.Select(d => d.Name);

    /// <summary>The services a <c>udp:</c> listener can run.</summary>
    public static IEnumerable<string> DatagramNames => Definitions.Where(d => d.Traits.ServesDatagrams).Select(d => d.Name);

    public static bool IsKnown(string name) => ByName.ContainsKey(name);

    public static ServiceDefinition Find(string name) => ByName[name];

    /// <summary>Creates the listener's service; its options were read and checked with its settings.</summary>
    public static IListenerService Create(ServiceContext context) => context.Listener.Service.Create(context);

    private static object? NoOptions(OptionReader reader) => null;
}
