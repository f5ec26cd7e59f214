using Ferry.Daemon.Hosting;
using Ferry.Daemon.Services;
using Ferry.Daemon.Transport;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// The listeners ferryd is serving, which can change while it runs (reload). Sockets are
/// bound by <see cref="ListenerBinder"/> (or inherited from systemd); each listener accepts
/// on its socket itself (<see cref="RunningListener"/>) and wraps admitted sockets in
/// <see cref="SocketConnection"/>s, whose readers and writers share <see cref="BlockPool.Default"/>
/// (with the connections services open, such as forward's upstreams).
/// A listener a reload replaced no longer accepts but keeps its open connections until they
/// end (retiring); a shutdown closes those too.
/// </summary>
internal sealed class ListenerSet : IAsyncDisposable
{
    private readonly BlockPool _pool = BlockPool.Default;
    private readonly ILogger _logger;
    private readonly LogLevel _openLineLevel;
    private readonly List<RunningListener> _running = [];
    private readonly List<(RunningListener Listener, Task Retired)> _retiring = [];
    private readonly Lock _gate = new();

    /// <param name="openLineLevel">The level of each connection's open line (<see cref="Logging.LogSettings.OpenLineLevel"/>).</param>
    public ListenerSet(ILoggerFactory loggers, LogLevel openLineLevel)
    {
        _logger = loggers.CreateLogger("ferryd.connections");
        _openLineLevel = openLineLevel;
        Metrics.FerryMetrics.Observe(this);
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

    /// <summary>Every listener with connections to count: those accepting, and those a reload retired that still serve some.</summary>
    public IReadOnlyList<RunningListener> Serving
    {
        get
        {
            lock (_gate)
                return [.. _running, .. _retiring.Select(r => r.Listener)];
        }
    }

    /// <summary>Starts serving bound sockets with their services.</summary>
    public Task<IReadOnlyList<RunningListener>> StartAsync(IEnumerable<(BoundListener Listener, IListenerService Service)> listeners)
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
            var running = new RunningListener(listener, service, _pool, _logger, _openLineLevel);
            running.Start();
            started.Add(running);
        }
        lock (_gate)
            _running.AddRange(started);
        return Task.FromResult<IReadOnlyList<RunningListener>>(started);
    }

    /// <summary>Stops some listeners accepting, sockets still open and connections untouched (a reload decides what next).</summary>
    public async Task PauseAsync(IReadOnlyCollection<RunningListener> listeners)
    {
        lock (_gate)
            _running.RemoveAll(listeners.Contains);
        await Task.WhenAll(listeners.Select(l => l.PauseAcceptingAsync()));
    }

    /// <summary>Paused listeners accept again (a reload was rolled back).</summary>
    public void Resume(IReadOnlyCollection<RunningListener> listeners)
    {
        foreach (var listener in listeners)
            listener.ResumeAccepting();
        lock (_gate)
            _running.AddRange(listeners);
    }

    /// <summary>
    /// A paused listener whose place another took: its connections finish as they would have,
    /// under its old settings and service; then <paramref name="retired"/> runs (its service goes).
    /// </summary>
    public void Retire(RunningListener listener, Func<Task> retired)
    {
        lock (_gate)
            _retiring.Add((listener, RetireAsync(listener, retired)));
    }

    private async Task RetireAsync(RunningListener listener, Func<Task> retired)
    {
        await Task.Yield();
        await listener.WhenIdleAsync();
        await listener.StopSweepingAsync();
        lock (_gate)
            _retiring.RemoveAll(r => r.Listener == listener);
        await retired();
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
        await CloseAsync(listeners, deadline);
    }

    /// <summary>Closes the connections of listeners that no longer accept; aborts what is left at the deadline.</summary>
    public static async Task CloseAsync(IReadOnlyCollection<RunningListener> listeners, TimeSpan deadline)
    {
        using var timer = new CancellationTokenSource(deadline);
        await Task.WhenAll(listeners.Select(l => l.CloseConnectionsAsync(timer.Token)));
        foreach (var listener in listeners)
            await listener.StopSweepingAsync();
    }

    /// <summary>Every listener stops, retiring ones included (their connections are asked to finish too).</summary>
    public async Task StopAllAsync(TimeSpan deadline)
    {
        RunningListener[] retiring;
        Task[] retired;
        lock (_gate)
        {
            retiring = _retiring.Select(r => r.Listener).ToArray();
            retired = _retiring.Select(r => r.Retired).ToArray();
        }
        await Task.WhenAll(StopAsync(Running, deadline), CloseAsync(retiring, deadline));
        await Task.WhenAll(retired);
    }

    public async ValueTask DisposeAsync()
    {
        Metrics.FerryMetrics.Forget(this);
        await StopAllAsync(TimeSpan.Zero);
    }
}
