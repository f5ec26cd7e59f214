using System.Net;

namespace Ferry.Client.Bench;

/// <summary>One benchmark run as the user asked for it, already validated.</summary>
/// <param name="Rate">
/// The open-loop rate as given, or null for closed loop: pingpong, messages per second over all
/// connections; chat, lines per second sent by each member.
/// </param>
/// <param name="ServerPid">A server process whose resident memory is reported before and after, if given.</param>
/// <param name="Engine">How sockets are driven; see <see cref="UsesEpoll"/> for what Auto picks.</param>
internal sealed record BenchSettings(
    string Host,
    IPEndPoint Target,
    BenchMode Mode,
    int Connections,
    TimeSpan Duration,
    TimeSpan Warmup,
    int MessageSize,
    double? Rate,
    int? ServerPid,
    BenchEngine Engine = BenchEngine.Auto)
{
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

    /// <summary>Whether the epoll engine can run this mode: closed-loop pingpong, bulk and connect, on Linux.</summary>
    public bool EpollApplies => OperatingSystem.IsLinux()
        && (Mode is BenchMode.Connect or BenchMode.Bulk || (Mode == BenchMode.PingPong && Rate is null));

    /// <summary>The epoll engine runs when it applies, unless the async engine was asked for.</summary>
    public bool UsesEpoll => Engine != BenchEngine.Async && EpollApplies;
}
