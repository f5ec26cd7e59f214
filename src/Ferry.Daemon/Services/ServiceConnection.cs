using System.IO.Pipelines;
using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Services;

/// <summary>What a service sees of one connection: its pipes, its counters, and its signals.</summary>
internal sealed class ServiceConnection(
    IDuplexPipe transport,
    ConnectionStats stats,
    CancellationToken stopping,
    ReceivedLineLog? receivedLines = null,
    string peer = "unknown",
    Action? abort = null)
{
    private readonly Action _abort = abort ?? (() =>
    {
        transport.Input.Complete();
        transport.Output.Complete();
    });

    public PipeReader Input { get; } = transport.Input;

    public PipeWriter Output { get; } = transport.Output;

    public ConnectionStats Stats { get; } = stats;

    /// <summary>Cancelled when ferryd asks this connection to close gracefully (shutdown).</summary>
    public CancellationToken Stopping { get; } = stopping;

    /// <summary>Set only when Debug logging is on: each received line is logged through it.</summary>
    public ReceivedLineLog? ReceivedLines { get; } = receivedLines;

    /// <summary>The client's address as "ADDR:PORT", for prefixes and log lines.</summary>
    public string Peer { get; } = peer;

    /// <summary>
    /// Drops the connection at once (RST), for a client cut off as a slow consumer: a graceful
    /// close would wait for a send the client is not reading.
    /// </summary>
    public void Abort() => _abort();
}
