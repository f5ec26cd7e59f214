using System.Collections.Concurrent;
using System.Net.Sockets;
using Ferry.Daemon.Services;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One listener at work: an accept loop over Kestrel's socket transport handing each
/// connection to the listener's handler, and the set of its live connections so it can be
/// stopped on its own (reload removes it) or with the whole server, in stages: stop
/// accepting, ask connections to finish, abort what is left at the deadline.
/// </summary>
internal sealed partial class RunningListener
{
    private readonly IConnectionListener _transport;
    private readonly ConnectionHandler _handler;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<ConnectionContext, (ConnectionLifetime Lifetime, Task Served)> _connections = new();
    private Task _accepting = Task.CompletedTask;

    public RunningListener(BoundListener listener, IConnectionService service, IConnectionListener transport, ILogger logger)
    {
        Listener = listener;
        Service = service;
        _transport = transport;
        _logger = logger;
        _handler = new ListenerConnectionHandler(listener, service, logger);
    }

    public BoundListener Listener { get; }

    public IConnectionService Service { get; }

    public void Start() => _accepting = AcceptLoopAsync();

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            ConnectionContext? connection;
            try
            {
                connection = await _transport.AcceptAsync();
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of descriptors or buffers: keep serving who we have, retry shortly.
                AcceptFailed(_logger, Listener.Name, ex.SocketErrorCode.ToString());
                await Task.Delay(TimeSpan.FromMilliseconds(100));
                continue;
            }
            if (connection is null)
                return; // unbound: this listener is stopping
            var lifetime = new ConnectionLifetime();
            connection.Features.Set<IConnectionLifetimeNotificationFeature>(lifetime);
            _connections[connection] = (lifetime, ServeAsync(connection, lifetime));
        }
    }

    private async Task ServeAsync(ConnectionContext connection, ConnectionLifetime lifetime)
    {
        // Yield first: the accept loop must not run the handler's synchronous start.
        await Task.Yield();
        try
        {
            await _handler.OnConnectedAsync(connection);
        }
        finally
        {
            // Completes the transport: whatever the service wrote is sent before the close.
            await connection.DisposeAsync();
            _connections.TryRemove(connection, out _);
            lifetime.Dispose();
        }
    }

    /// <summary>
    /// Stops accepting; connections already open are not touched. Peers the kernel has
    /// already connected (in the listen backlog, maybe with data sent) are accepted first,
    /// within a short bound, so they are served and closed gracefully instead of reset.
    /// </summary>
    public async Task StopAcceptingAsync()
    {
        for (int wait = 0; wait < BacklogDrainPolls && HasPendingPeers(); wait++)
            await Task.Delay(10);
        await _transport.UnbindAsync();
        await _accepting;
    }

    private const int BacklogDrainPolls = 50;

    private bool HasPendingPeers()
    {
        try
        {
            return Listener.Socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Releases the transport, which owns the buffer pool its connections use: only after
    /// every connection of this listener has ended.
    /// </summary>
    public ValueTask DisposeTransportAsync() => _transport.DisposeAsync();

    /// <summary>Asks every open connection to finish; aborts those still open at the deadline.</summary>
    public async Task CloseConnectionsAsync(CancellationToken deadline)
    {
        foreach (var (lifetime, _) in _connections.Values)
            lifetime.RequestClose();
        var served = _connections.Values.Select(c => c.Served).ToArray();
        try
        {
            await Task.WhenAll(served).WaitAsync(deadline);
            return;
        }
        catch (OperationCanceledException)
        {
        }
        foreach (var connection in _connections.Keys)
            connection.Abort(new ConnectionAbortedException("shutdown deadline passed"));
        await Task.WhenAll(served);
    }

    [LoggerMessage(EventId = 14, Level = LogLevel.Error, Message = "accept on {Listener} failed: {Error}; retrying")]
    private static partial void AcceptFailed(ILogger logger, string listener, string error);
}
