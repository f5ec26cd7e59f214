using System.Collections.Concurrent;
using System.Net;
using Ferry.Daemon.Services;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// The listeners ferryd is serving, which can change while it runs (reload). Sockets are
/// bound by <see cref="ListenerBinder"/> (or inherited from systemd) and handed to Kestrel's
/// socket transport, which does the accepting and the per-connection pipes.
/// </summary>
internal sealed class ListenerSet : IAsyncDisposable
{
    private readonly SocketTransportFactory _transport;
    private readonly ConcurrentDictionary<EndPoint, System.Net.Sockets.Socket> _handOver = new();
    private readonly ILogger _logger;
    private readonly List<RunningListener> _running = [];
    private readonly Lock _gate = new();

    public ListenerSet(ILoggerFactory loggers)
    {
        _logger = loggers.CreateLogger("ferryd.connections");
        var options = new SocketTransportOptions
        {
            // The transport adopts the socket we bound instead of binding its own.
            CreateBoundListenSocket = endpoint => _handOver.TryRemove(endpoint, out var socket)
                ? socket
                : throw new InvalidOperationException($"no bound socket for {endpoint}"),
        };
        _transport = new SocketTransportFactory(Options.Create(options), loggers);
    }

    public IReadOnlyList<RunningListener> Running
    {
        get
        {
            lock (_gate)
                return _running.ToArray();
        }
    }

    public IReadOnlyList<BoundListener> Bound => Running.Select(r => r.Listener).ToArray();

    /// <summary>Starts serving bound sockets with their services.</summary>
    public async Task<IReadOnlyList<RunningListener>> StartAsync(IEnumerable<(BoundListener Listener, IConnectionService Service)> listeners)
    {
        var started = new List<RunningListener>();
        foreach (var (listener, service) in listeners)
        {
            _handOver[listener.EndPoint] = listener.Socket;
            var transport = await _transport.BindAsync(listener.EndPoint);
            var running = new RunningListener(listener, service, transport, _logger);
            running.Start();
            started.Add(running);
        }
        lock (_gate)
            _running.AddRange(started);
        return started;
    }

    /// <summary>
    /// Stops some listeners: no new connections at once, open ones asked to finish and
    /// aborted at the deadline. Other listeners and their connections are not touched.
    /// </summary>
    public async Task StopAsync(IReadOnlyCollection<RunningListener> listeners, TimeSpan deadline)
    {
        lock (_gate)
            _running.RemoveAll(listeners.Contains);
        await Task.WhenAll(listeners.Select(l => l.StopAcceptingAsync()));
        using var timer = new CancellationTokenSource(deadline);
        await Task.WhenAll(listeners.Select(l => l.CloseConnectionsAsync(timer.Token)));
        foreach (var listener in listeners)
            await listener.DisposeTransportAsync();
    }

    public Task StopAllAsync(TimeSpan deadline) => StopAsync(Running, deadline);

    public async ValueTask DisposeAsync()
    {
        await StopAllAsync(TimeSpan.Zero);
        foreach (var socket in _handOver.Values)
            socket.Dispose();
    }
}
