namespace Ferry.Daemon.Services;

/// <summary>The services a listener can run, by the name used in <c>--listen PORT=NAME</c>.</summary>
internal static class ServiceCatalog
{
    private static readonly Dictionary<string, Func<TimeProvider, IConnectionService>> Factories = new(StringComparer.Ordinal)
    {
        ["echo"] = _ => new EchoService(),
        ["discard"] = _ => new DiscardService(),
        ["daytime"] = time => new DaytimeService(time),
        ["chargen"] = _ => new ChargenService(),
    };

    public static IEnumerable<string> Names => Factories.Keys;

    public static bool IsKnown(string name) => Factories.ContainsKey(name);

    public static IConnectionService Create(string name, TimeProvider time) => Factories[name](time);
}
