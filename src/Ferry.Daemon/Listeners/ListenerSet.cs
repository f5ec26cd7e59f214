using Ferry.Daemon.Hosting;
using Ferry.Daemon.Services;
using Ferry.Daemon.Transport;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// The listeners ferryd is serving, which can change while it runs (reload). Sockets are
/// bound by <see cref="ListenerBinder"/> (or inherited from systemd); each listener accepts
/// on its socket itself (<see cref="RunningListener"/>) and wraps admitted sockets in
/// <see cref="SocketConnection"/>s, whose readers and writers share one <see cref="BlockPool"/>.
/// </summary>
internal sealed class ListenerSet : IAsyncDisposable
{
    private readonly BlockPool _pool = new();
    private readonly ILogger _logger;
    private readonly List<RunningListener> _running = [];
    private readonly Lock _gate = new();

    public ListenerSet(ILoggerFactory loggers)
    {
        _logger = loggers.CreateLogger("ferryd.connections");
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
        try
        {
            EpollLoop.StartAll();
        }
        catch (IOException ex)
        {
            throw new StartupException(ExitCodes.CannotListen, $"cannot start ferryd's connection threads: {ex.Message}");
        }
        var started = new List<RunningListener>();
        foreach (var (listener, service) in listeners)
        {
            var running = new RunningListener(listener, service, _pool, _logger);
            running.Start();
            started.Add(running);
        }
        lock (_gate)
            _running.AddRange(started);
        return Task.FromResult<IReadOnlyList<RunningListener>>(started);
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
            await listener.StopSweepingAsync();
    }

    public Task StopAllAsync(TimeSpan deadline) => StopAsync(Running, deadline);

    public async ValueTask DisposeAsync()
    {
        await StopAllAsync(TimeSpan.Zero);
        _pool.Dispose();
    }
}
