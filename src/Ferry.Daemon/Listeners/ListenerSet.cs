using Ferry.Daemon.Services;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// The listeners ferryd is serving, which can change while it runs (reload). Sockets are
/// bound by <see cref="ListenerBinder"/> (or inherited from systemd); each listener accepts
/// on its socket itself (<see cref="RunningListener"/>) and gives admitted connections to
/// Kestrel's socket transport (<see cref="SocketConnectionContextFactory"/>, one per
/// listener, owning that listener's buffer pool) for the per-connection pipes.
/// </summary>
internal sealed class ListenerSet : IAsyncDisposable
{
    private readonly SocketTransportOptions _transportOptions;
    private readonly ILogger _transportLogger;
    private readonly ILogger _logger;
    private readonly List<RunningListener> _running = [];
    private readonly Lock _gate = new();

    public ListenerSet(ILoggerFactory loggers)
    {
        _logger = loggers.CreateLogger("ferryd.connections");
        // The transport's tuning knobs; the accepting is ours (see RunningListener).
        _transportOptions = new SocketTransportOptions();
        _transportLogger = loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets");
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
    public Task<IReadOnlyList<RunningListener>> StartAsync(IEnumerable<(BoundListener Listener, IConnectionService Service)> listeners)
    {
        var started = new List<RunningListener>();
        foreach (var (listener, service) in listeners)
        {
            var transport = new SocketConnectionContextFactory(FactoryOptions(), _transportLogger);
            var running = new RunningListener(listener, service, transport, _transportOptions.NoDelay, _logger);
            running.Start();
            started.Add(running);
        }
        lock (_gate)
            _running.AddRange(started);
        return Task.FromResult<IReadOnlyList<RunningListener>>(started);
    }

    /// <summary>The transport options that apply to connections we accept ourselves.</summary>
    private SocketConnectionFactoryOptions FactoryOptions()
    {
        var options = new SocketConnectionFactoryOptions
        {
            IOQueueCount = _transportOptions.IOQueueCount,
            WaitForDataBeforeAllocatingBuffer = _transportOptions.WaitForDataBeforeAllocatingBuffer,
            MaxReadBufferSize = _transportOptions.MaxReadBufferSize,
            MaxWriteBufferSize = _transportOptions.MaxWriteBufferSize,
            UnsafePreferInlineScheduling = _transportOptions.UnsafePreferInlineScheduling,
        };
        // Reused pinned blocks instead of the shared ArrayPool: no allocation per message.
        TransportBlockPool.TryApply(options);
        return options;
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
    }
}
