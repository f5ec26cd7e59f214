using System.Runtime.InteropServices;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Services;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// SIGHUP: re-read the configuration and change the listeners to match, nginx style.
/// Listeners whose name, endpoint, service and options are unchanged keep running with
/// their connections; removed ones stop accepting and their connections are closed
/// gracefully (shutdown deadline); added ones are bound first. Any error (bad file, bad
/// option, busy port) rejects the whole new configuration and the old one keeps running.
/// Logging settings and the metrics endpoint are read at start only; a changed metrics endpoint
/// is logged as such.
/// </summary>
internal sealed partial class ConfigReloader : IAsyncDisposable
{
    private readonly SignalQueue _signal;
    private readonly ServiceSet _services;
    private readonly ListenerSet _listeners;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly SystemdNotifier _systemd;
    private ServerSettings _current;
    private ReloadOutcome? _last;

    public ConfigReloader(ServerSettings current, ServiceSet services, ListenerSet listeners,
        ILoggerFactory loggers, SystemdNotifier systemd)
    {
        _current = current;
        _services = services;
        _listeners = listeners;
        _loggers = loggers;
        _logger = loggers.CreateLogger("ferryd");
        _systemd = systemd;
        _signal = new SignalQueue(PosixSignal.SIGHUP, ReloadOnSignalAsync);
    }

    public ReloadOutcome? Last => Volatile.Read(ref _last);

    private async Task ReloadOnSignalAsync()
    {
        _systemd.Notify("RELOADING=1");
        var outcome = await ReloadAsync((_last?.Generation ?? 0) + 1);
        Volatile.Write(ref _last, outcome);
        _systemd.Notify($"READY=1\nSTATUS={outcome.Message}");
    }

    private async Task<ReloadOutcome> ReloadAsync(int generation)
    {
        ServerSettings next;
        try
        {
            next = _current.Source is null ? _current : SettingsLoader.Load(_current.Source);
        }
        catch (Exception ex) when (ex is ConfigException or UsageException)
        {
            return Rejected(generation, ex.Message);
        }
        if (next.Metrics != _current.Metrics)
            MetricsEndpointKept(_logger, Describe(next.Metrics), Describe(_current.Metrics));

        var keep = _current.Listeners.Where(old => next.Listeners.Any(n => n.Spec.Identity == old.Spec.Identity)).ToList();
        var removed = _current.Listeners.Except(keep).ToList();
        var added = next.Listeners.Where(n => !keep.Any(k => k.Spec.Identity == n.Spec.Identity)).ToList();

        var acquired = new List<ListenerSettings>();
        try
        {
            foreach (var listener in added)
            {
                _services.Acquire(listener, _loggers);
                acquired.Add(listener);
            }
        }
        catch (ServiceOptionException ex)
        {
            foreach (var listener in acquired)
                await _services.RemoveAsync(listener);
            return Rejected(generation, ex.Message);
        }

        // The listeners going away stop accepting first; their sockets stay open, for a listener
        // of the new configuration on the same endpoint to take over (no moment without one, no
        // backlog lost), and their connections are untouched.
        var outgoing = _listeners.Running.Where(r => removed.Any(spec => ReferenceEquals(spec, r.Listener.Settings))).ToList();
        await _listeners.PauseAsync(outgoing);
        var reusable = new ReusableSockets(outgoing.Select(r => r.Listener));
        IReadOnlyList<BoundListener> bound;
        try
        {
            bound = await ListenerBinder.BindAllAsync(added, SocketActivation.None, CancellationToken.None, reusable);
        }
        catch (StartupException ex)
        {
            foreach (var listener in added)
                await _services.RemoveAsync(listener);
            await RollBackAsync(outgoing, reusable);
            return Rejected(generation, ex.Message);
        }

        // A listener that takes another's place (same label and service) continues its counts:
        // metrics and "ferryd status" see one listener whose options changed, not a new one.
        foreach (var listener in bound)
        {
            if (outgoing.FirstOrDefault(o => o.Listener.Label == listener.Label && o.Listener.Service == listener.Service) is { } predecessor)
                listener.ContinueCounting(predecessor.Listener);
        }
        var started = await _listeners.StartAsync(bound.Select(b => (b, _services[b.Settings])));
        foreach (var listener in started)
            Logging.Log.Listening(_logger, listener.Listener);

        // A listener replaced by one on its socket, or by one of its name, lets its connections
        // finish under its old settings and service. One removed for good asks them to finish
        // now and aborts them at the shutdown deadline, as a shutdown does.
        var gone = new List<RunningListener>();
        foreach (var listener in outgoing)
        {
            var settings = listener.Listener.Settings;
            bool replaced = reusable.WasTaken(listener.Listener.Socket)
                || (settings.Name is not null && added.Any(a => a.Name == settings.Name));
            if (replaced)
                _listeners.Retire(listener, () => _services.RemoveAsync(settings));
            else
                gone.Add(listener);
        }
        foreach (var listener in gone.Where(l => !reusable.WasClosed(l.Listener.Socket)))
            listener.Listener.Close();
        await ListenerSet.CloseAsync(gone, _current.ShutdownTimeout);
        foreach (var listener in gone)
            await _services.RemoveAsync(listener.Listener.Settings);

        // Kept listeners keep their original specs (and services), but take the certificates
        // just read: a renewed certificate needs no listener change, and connections already
        // established keep the session they have.
        foreach (var old in keep)
        {
            if (old.Policy.Tls is { } tls && next.Listeners.First(n => n.Spec.Identity == old.Spec.Identity).Policy.Tls is { } reread
                && tls.Adopt(reread))
                CertificateReloaded(_logger, old.ToString(), tls.Current.Describe());
        }
        // The metrics endpoint stays where it started (a change was logged above).
        _current = next with { Listeners = [.. keep, .. added], Metrics = _current.Metrics };
        string message = $"reloaded: {added.Count} listener(s) added, {removed.Count} removed, {keep.Count} unchanged";
        if (outgoing.Count > gone.Count)
            message += $" ({outgoing.Count - gone.Count} replaced in place, their open connections finishing as they were)";
        Reloaded(_logger, message);
        return new ReloadOutcome(generation, true, message, DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// The new configuration could not be bound: the listeners that were to go accept again, on
    /// their own sockets, bound anew where they had been closed to make room.
    /// </summary>
    private async Task RollBackAsync(IReadOnlyList<RunningListener> outgoing, ReusableSockets reusable)
    {
        var restored = new List<RunningListener>();
        foreach (var listener in outgoing)
        {
            if (reusable.WasClosed(listener.Listener.Socket))
            {
                try
                {
                    listener.Listener.Rebound(ListenerBinder.Rebind(listener.Listener));
                }
                catch (StartupException ex)
                {
                    NotRestored(_logger, listener.Listener.Name, ex.Message);
                    await ListenerSet.CloseAsync([listener], _current.ShutdownTimeout);
                    await _services.RemoveAsync(listener.Listener.Settings);
                    _current = _current with { Listeners = _current.Listeners.Where(l => !ReferenceEquals(l, listener.Listener.Settings)).ToList() };
                    continue;
                }
            }
            restored.Add(listener);
        }
        _listeners.Resume(restored);
    }

    [LoggerMessage(EventId = 34, Level = LogLevel.Error, Message = "SIGHUP: reload rejected, and {Listener} could not have its port back: {Reason}; its connections are closed")]
    private static partial void NotRestored(ILogger logger, string listener, string reason);

    private ReloadOutcome Rejected(int generation, string reason)
    {
        ReloadRejected(_logger, reason);
        return new ReloadOutcome(generation, false, "reload rejected, old configuration kept: " + reason, DateTimeOffset.UtcNow);
    }

    [LoggerMessage(EventId = 33, Level = LogLevel.Information, Message = "SIGHUP: new TLS certificate for {Listener}: {Certificate}")]
    private static partial void CertificateReloaded(ILogger logger, string listener, string certificate);

    private static string Describe(Metrics.MetricsAddress? metrics) =>
        metrics is null ? "off" : new Ferry.Protocol.HostPort(metrics.Host ?? "*", metrics.Port).ToString();

    [LoggerMessage(EventId = 35, Level = LogLevel.Warning, Message = "SIGHUP: Metrics:Endpoint is now {Next}, which takes effect at the next start; metrics stay {Current} until then")]
    private static partial void MetricsEndpointKept(ILogger logger, string next, string current);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "SIGHUP: {Message}")]
    private static partial void Reloaded(ILogger logger, string message);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "SIGHUP: reload rejected, old configuration kept: {Reason}")]
    private static partial void ReloadRejected(ILogger logger, string reason);

    public ValueTask DisposeAsync() => _signal.DisposeAsync();
}
