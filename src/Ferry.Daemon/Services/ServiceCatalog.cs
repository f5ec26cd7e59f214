using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services;

/// <summary>
/// The services a listener can run, by the name used in <c>--listen PORT=NAME</c>. Each
/// listener gets its own instance (a chat hub is per listener); a service that holds
/// resources implements <see cref="IAsyncDisposable"/> and is disposed after its
/// connections have drained at shutdown.
/// </summary>
internal static class ServiceCatalog
{
    private static readonly Dictionary<string, Func<ServiceContext, IConnectionService>> Factories = new(StringComparer.Ordinal)
    {
        ["echo"] = context => Plain(context, new EchoService()),
        ["discard"] = context => Plain(context, new DiscardService()),
        ["daytime"] = context => Plain(context, new DaytimeService(context.Time)),
        ["chargen"] = context => Plain(context, new ChargenService()),
        ["chat"] = context => new Chat.ChatService(Chat.ChatOptions.From(context), context.Time,
            context.Loggers.CreateLogger("ferryd.chat")),
        ["broker"] = Broker.BrokerService.Create,
        ["sink"] = Sink.SinkService.Create,
    };

    public static IEnumerable<string> Names => Factories.Keys;

    public static bool IsKnown(string name) => Factories.ContainsKey(name);

    /// <summary>Creates the listener's service; throws <see cref="ServiceOptionException"/> on bad options.</summary>
    public static IConnectionService Create(ServiceContext context) => Factories[context.Spec.Service](context);

    private static IConnectionService Plain(ServiceContext context, IConnectionService service)
    {
        context.AllowOnly();
        return service;
    }
}
