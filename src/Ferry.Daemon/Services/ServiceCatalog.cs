using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services;

/// <summary>One service a listener can run: its name in <c>--listen PORT=NAME</c>, its traits, how it is made.</summary>
internal sealed record ServiceDefinition(string Name, ServiceTraits Traits, Func<ServiceContext, IConnectionService> Create);

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
        new("echo", ByteService, context => Plain(context, new EchoService())),
        new("discard", ByteService, context => Plain(context, new DiscardService())),
        new("daytime", ByteService, context => Plain(context, new DaytimeService(context.Time))),
        new("chargen", ByteService with { Amplifier = true }, context => Plain(context, new ChargenService())),
        new("chat", ByteService with { LineOriented = true }, context => new Chat.ChatService(Chat.ChatOptions.From(context), context.Time,
            context.Loggers.CreateLogger("ferryd.chat"))),
        new("broker", ByteService, Broker.BrokerService.Create),
        new("sink", new ServiceTraits { LineOriented = true, FirstByteTimeout = SinkFirstByteTimeout }, Sink.SinkService.Create),
    ];

    private static readonly Dictionary<string, ServiceDefinition> ByName = Definitions.ToDictionary(d => d.Name, StringComparer.Ordinal);

    public static IEnumerable<string> Names => Definitions.Select(d => d.Name);

    public static bool IsKnown(string name) => ByName.ContainsKey(name);

    public static ServiceDefinition Find(string name) => ByName[name];

    /// <summary>Creates the listener's service; throws <see cref="ServiceOptionException"/> on bad options.</summary>
    public static IConnectionService Create(ServiceContext context) => ByName[context.Spec.Service].Create(context);

    private static IConnectionService Plain(ServiceContext context, IConnectionService service)
    {
        context.AllowOnly();
        return service;
    }
}
