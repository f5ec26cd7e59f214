using System.Net;

namespace Ferry.Client.Bench;

/// <summary>One benchmark run as the user asked for it, already validated.</summary>
/// <param name="Rate">Total messages per second over all connections (open loop), or null for closed loop.</param>
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
    /// <summary>Whether the epoll engine can run this mode: closed-loop pingpong, bulk and connect, on Linux.</summary>
    public bool EpollApplies => OperatingSystem.IsLinux()
        && (Mode is BenchMode.Connect or BenchMode.Bulk || (Mode == BenchMode.PingPong && Rate is null));

    /// <summary>The epoll engine runs when it applies, unless the async engine was asked for.</summary>
    public bool UsesEpoll => Engine != BenchEngine.Async && EpollApplies;
}
