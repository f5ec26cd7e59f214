using System.Net;

namespace Ferry.Client.Bench;

/// <summary>One benchmark run as the user asked for it, already validated.</summary>
/// <param name="Rate">Total messages per second over all connections (open loop), or null for closed loop.</param>
/// <param name="ServerPid">A server process whose resident memory is reported before and after, if given.</param>
internal sealed record BenchSettings(
    string Host,
    IPEndPoint Target,
    BenchMode Mode,
    int Connections,
    TimeSpan Duration,
    TimeSpan Warmup,
    int MessageSize,
    double? Rate,
    int? ServerPid);
