using System.Net;
using System.Net.Sockets;
using Ferry.Client;
using Ferry.Platform.Linux;

namespace Ferry.Bench;

/// <summary>One benchmark run as the user asked for it, already validated.</summary>
/// <param name="Host">The host as given; for a Unix socket, its path.</param>
/// <param name="Target">An <see cref="IPEndPoint"/>, or for a Unix socket a <see cref="UnixDomainSocketEndPoint"/>.</param>
/// <param name="Rate">
/// The open-loop rate as given, or null for closed loop: pingpong, messages per second over all
/// connections; chat, lines per second sent by each member.
/// </param>
/// <param name="ServerPid">A server process whose memory and CPU time are reported, if given.</param>
/// <param name="Engine">How sockets are driven; see <see cref="EngineInUse"/> for what Auto picks.</param>
internal sealed record BenchSettings(
    string Host,
    EndPoint Target,
    BenchMode Mode,
    int Connections,
    TimeSpan Duration,
    TimeSpan Warmup,
    int MessageSize,
    double? Rate,
    int? ServerPid,
    BenchEngine Engine = BenchEngine.Auto)
{
    /// <summary>
    /// Chat: other nodes of the same hub (<c>--also HOST:PORT</c>); the members are dealt over
    /// <see cref="Target"/> and these in turn. Empty: every connection goes to <see cref="Target"/>.
    /// </summary>
    public IReadOnlyList<IPEndPoint> AlsoTargets { get; init; } = [];

    /// <summary>TCP, UDP (<c>--udp</c>) or a Unix stream socket (<c>--unix PATH</c>).</summary>
    public BenchTransport Transport { get; init; } = BenchTransport.Tcp;

    /// <summary>UDP: how long a datagram's echo is waited for before the datagram is counted as lost and the next one sent.</summary>
    public TimeSpan LossTimeout { get; init; } = DefaultLossTimeout;

    public static TimeSpan DefaultLossTimeout { get; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The server's port, or null for a Unix socket.</summary>
    public int? Port => (Target as IPEndPoint)?.Port;

    /// <summary>The server as reports name it: <c>HOST:PORT</c>, <c>udp:HOST:PORT</c> or <c>unix:PATH</c>.</summary>
    public string Address => Transport switch
    {
        BenchTransport.Unix => $"unix:{Host}",
        BenchTransport.Udp => $"udp:{Host}:{Port}",
        _ => $"{Host}:{Port}",
    };

    /// <summary>Where connection <paramref name="index"/> goes.</summary>
    public EndPoint TargetOf(int index) => AlsoTargets.Count == 0 || index % (AlsoTargets.Count + 1) == 0
        ? Target
        : AlsoTargets[index % (AlsoTargets.Count + 1) - 1];

    /// <summary>The open-loop rate one connection sends at (its schedule), or null for closed loop.</summary>
    public double? RatePerConnection => Rate is not double rate ? null
        : Mode == BenchMode.Chat ? rate
        : rate / Connections;

    /// <summary>
    /// What the open-loop schedule offers, in the unit the report's messages are counted in:
    /// pingpong, messages per second; chat, deliveries per second (each member's lines reach
    /// the other N-1 members). Null for closed loop.
    /// </summary>
    public double? OfferedMessagesPerSecond => Rate is not double rate ? null
        : Mode == BenchMode.Chat ? rate * Connections * (Connections - 1.0)
        : rate;

    /// <summary>The engine that runs: the one asked for, or for Auto epoll where it applies and async elsewhere.</summary>
    public BenchEngine EngineInUse => Engine != BenchEngine.Auto ? Engine
        : Runs(BenchEngine.Epoll, Mode, openLoop: Rate is not null) ? BenchEngine.Epoll
        : BenchEngine.Async;

    /// <summary>Connect mode opens a connection per cycle; the others open theirs before the run.</summary>
    public bool ConnectsPerCycle => Mode == BenchMode.Connect;

    /// <summary>Bulk has no message boundaries on the way back and idle no traffic: neither records latency.</summary>
    public bool RecordsLatency => Mode is not (BenchMode.Bulk or BenchMode.Idle);

    /// <summary>
    /// Whether <paramref name="engine"/> can run <paramref name="mode"/>: epoll and threads run
    /// the closed-loop modes that move bytes (pingpong, bulk, connect), epoll on Linux only;
    /// async runs every mode.
    /// </summary>
    public static bool Runs(BenchEngine engine, BenchMode mode, bool openLoop)
    {
        bool closedLoopTraffic = mode is BenchMode.Bulk or BenchMode.Connect || (mode == BenchMode.PingPong && !openLoop);
        return engine switch
        {
            BenchEngine.Epoll => closedLoopTraffic && OperatingSystem.IsLinux(),
            BenchEngine.Threads => closedLoopTraffic,
            _ => true,
        };
    }

    /// <summary>A mode's or an engine's name on the command line and in reports.</summary>
    public static string NameOf(Enum value) => value.ToString().ToLowerInvariant();

    /// <summary>The one line for a server that cannot be reached before the run.</summary>
    public CommandFailedException ConnectFailed(string cause) => new(Transport switch
    {
        // The runtime reports a missing socket file as "address not available" (ENOENT is lost on the way).
        BenchTransport.Unix => $"connect to {Host}: {(Host.StartsWith('@') || File.Exists(Host) ? cause : Errno.Describe(Errno.NoSuchFile))}",
        BenchTransport.Udp => $"udp to {Host} port {Port}: {cause}",
        _ => $"connect to {Host} port {Port}: {cause}",
    });
}
