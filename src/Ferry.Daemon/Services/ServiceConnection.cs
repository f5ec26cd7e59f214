using System.IO.Pipelines;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Transport;

namespace Ferry.Daemon.Services;

/// <summary>
/// What a service sees of one connection: its pipes and its signals. Nothing to count and nothing
/// to log: bytes are counted by the layer under the pipes, and an observer (the Debug "client
/// says" log) sees the input through <see cref="ObservedInput"/>.
/// </summary>
internal sealed class ServiceConnection
{
    private readonly IDuplexPipe _pipes;
    private readonly IInputObserver? _observer;
    private PipeReader? _input;

    public ServiceConnection(IDuplexPipe pipes, CancellationToken stopping, string peer = "unknown", IInputObserver? observer = null)
    {
        _pipes = pipes;
        _observer = observer;
        Stopping = stopping;
        Peer = peer;
    }

    /// <summary>The input, made when first asked for: a service that relays the socket (<see cref="PlainSocket"/>) never reads it.</summary>
    public PipeReader Input => _input ??= _observer is null ? _pipes.Input : new ObservedInput(_pipes.Input, _observer);

    public PipeWriter Output => _pipes.Output;

    /// <summary>
    /// The socket itself when the service's bytes are the socket's (no TLS, no observer of the
    /// input) and nothing is buffered in its pipes: a service may move them with a
    /// <see cref="SocketRelay"/> instead of the pipes. Null otherwise.
    /// </summary>
    public SocketConnection? PlainSocket =>
        _observer is null && Transport is SocketConnection socket && ReferenceEquals(_pipes, socket.Transport) && socket.HoldsNothing
            ? socket
            : null;

    /// <summary>Cancelled when ferryd asks this connection to close gracefully (shutdown).</summary>
    public CancellationToken Stopping { get; }

    /// <summary>The client's address as "ADDR:PORT", for prefixes and log lines.</summary>
    public string Peer { get; }

    /// <summary>The transport under the pipes, for a service that needs the socket's addresses (forward's PROXY header).</summary>
    public Microsoft.AspNetCore.Connections.ConnectionContext? Transport { get; init; }

    /// <summary>What the service tells <c>ferryd status --connections</c> about this connection, once it knows.</summary>
    public IConnectionDescription? Description { get; set; }

    /// <summary>What the service adds to the connection's close line ("upstream 10.0.0.2:80, client closed first").</summary>
    public string? CloseDetail { get; set; }

    /// <summary>
    /// Drops the connection at once with a reset, for a client cut off as a slow consumer: a
    /// graceful close would wait for a send the client is not reading, and would look to the
    /// client like an ordinary end.
    /// </summary>
    public void Abort()
    {
        if (Transport is SocketConnection socket)
        {
            socket.Reset(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("cut off by the service"));
            return;
        }
        // No socket under the pipes (a test's in-memory connection): end them.
        _pipes.Input.Complete();
        _pipes.Output.Complete();
    }

    /// <summary>Runs <paramref name="service"/> on this connection; then the observer sees the end of the input.</summary>
    public ValueTask<CloseReason> ServeWithAsync(IConnectionService service) =>
        // Without an observer nothing is left to do after the service: no state machine of our own.
        _observer is null ? service.RunAsync(this) : ServeObservedAsync(service);

    private async ValueTask<CloseReason> ServeObservedAsync(IConnectionService service)
    {
        try
        {
            return await service.RunAsync(this);
        }
        finally
        {
            _observer?.Flush();
        }
    }
}
