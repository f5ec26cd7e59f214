using System.IO.Pipelines;
using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Services;

/// <summary>What a service sees of one connection: its pipes, its counters, and its signals.</summary>
internal sealed class ServiceConnection(
    IDuplexPipe transport,
    ConnectionStats stats,
    CancellationToken stopping,
    ReceivedLineLog? receivedLines = null)
{
    public PipeReader Input { get; } = transport.Input;

    public PipeWriter Output { get; } = transport.Output;

    public ConnectionStats Stats { get; } = stats;

    /// <summary>Cancelled when ferryd asks this connection to close gracefully (shutdown).</summary>
    public CancellationToken Stopping { get; } = stopping;

    /// <summary>Set only when Debug logging is on: each received line is logged through it.</summary>
    public ReceivedLineLog? ReceivedLines { get; } = receivedLines;
}
