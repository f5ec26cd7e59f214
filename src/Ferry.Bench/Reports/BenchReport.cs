namespace Ferry.Bench.Reports;

/// <summary>The outcome of one run: what was asked, what happened, and the derived rates.</summary>
/// <param name="Messages">Messages echoed while measuring (connections, in connect mode; in bulk mode, whole writes echoed; in chat mode, deliveries).</param>
/// <param name="Bytes">Echoed bytes received while measuring.</param>
/// <param name="Errors">Failures over the whole run, warm-up included.</param>
/// <param name="IdleConnections">Connections held open (idle mode), otherwise null.</param>
/// <param name="ServerRssBefore">The server's resident memory before the load, when its pid was given.</param>
/// <param name="ServerRssAfter">The server's resident memory with the load (idle: all connections open).</param>
/// <param name="ClientGen0Collections">The client's own gen-0 collections while measuring: shows it allocates (almost) nothing per message.</param>
/// <param name="ServerCpu">The server's CPU time (user + system) while measuring, when its pid was given.</param>
/// <param name="ClientCpu">The client's own CPU time while measuring.</param>
internal sealed record BenchReport(
    BenchSettings Settings,
    TimeSpan Measured,
    long Messages,
    long Bytes,
    long Errors,
    long CorruptBytes,
    string? FirstError,
    LatencySummary? Latency,
    int? IdleConnections,
    long? ServerRssBefore,
    long? ServerRssAfter,
    int ClientGen0Collections,
    long ClientAllocatedBytes,
    TimeSpan? ServerCpu = null,
    TimeSpan? ClientCpu = null)
{
    /// <summary>UDP: datagrams counted as lost while measuring (their echo did not come within the loss timeout).</summary>
    public long Lost { get; init; }

    /// <summary>UDP: echoes of lost datagrams that came after all, while measuring.</summary>
    public long Late { get; init; }

    /// <summary>UDP: the share of the datagrams settled while measuring (echoed or lost) that were lost; null for a stream.</summary>
    public double? LossRate => Settings.Transport != BenchTransport.Udp ? null
        : Messages + Lost > 0 ? (double)Lost / (Messages + Lost)
        : 0;

    public double MessagesPerSecond => Measured > TimeSpan.Zero ? Messages / Measured.TotalSeconds : 0;

    /// <summary>What the open-loop schedule offered, in the unit of <see cref="MessagesPerSecond"/>; null for closed loop.</summary>
    public double? OfferedMessagesPerSecond => Settings.OfferedMessagesPerSecond;

    public double MegabytesPerSecond => Measured > TimeSpan.Zero ? Bytes / Measured.TotalSeconds / 1e6 : 0;

    public long? ServerRssDelta => ServerRssAfter - ServerRssBefore;

    /// <summary>Server memory per held connection (idle mode with a server pid).</summary>
    public double? ServerBytesPerConnection =>
        ServerRssDelta is long delta && IdleConnections is > 0 ? (double)delta / IdleConnections.Value : null;

    /// <summary>
    /// The server's CPU per message (per connection in connect mode, per whole write in bulk,
    /// per delivery in chat), in microseconds: unlike a rate, a client that is the bottleneck
    /// cannot cap it.
    /// </summary>
    public double? ServerCpuMicrosecondsPerMessage =>
        ServerCpu is TimeSpan cpu && Messages > 0 ? cpu.TotalMicroseconds / Messages : null;

    /// <summary>The server's CPU per 10^6 echoed bytes, in microseconds.</summary>
    public double? ServerCpuMicrosecondsPerMegabyte =>
        ServerCpu is TimeSpan cpu && Bytes > 0 ? cpu.TotalMicroseconds / (Bytes / 1e6) : null;

    /// <summary>A process's CPU time as a share of one core over the measured time.</summary>
    public double? CoreShare(TimeSpan? cpu) =>
        cpu is TimeSpan time && Measured > TimeSpan.Zero ? time / Measured : null;

    public bool Failed => Errors > 0;
}
