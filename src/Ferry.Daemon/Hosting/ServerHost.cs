using Ferry.Daemon.Listeners;
using Ferry.Daemon.Logging;
using Ferry.Daemon.Metrics;
using Ferry.Daemon.Services;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// Runs ferryd: takes the pid file if it has one (<see cref="PidFile.AcquireFor"/>) and serves
/// the status socket beside it, binds every listener (or adopts systemd's sockets), serves them through
/// ferryd's own epoll transport with our connection handlers (no HTTP anywhere), prints one
/// "listening SERVICE ADDR:PORT" line per listener, and then waits for signals: TERM/INT
/// stop gracefully within the deadline, HUP reloads the configuration, USR1 reopens logs.
/// </summary>
internal static class ServerHost
{
    public static async Task<int> RunAsync(ServerSettings settings, TextWriter stdout, DaemonRole? daemon = null)
    {
        // First, so that a second ferryd on the same pid file is refused before it binds anything.
        using var pidFile = PidFile.AcquireFor(settings, detached: daemon is not null);
        using var logOutput = LogOutput.Create(settings.Logging);
        var loggers = logOutput.Loggers;
        var logger = loggers.CreateLogger("ferryd");
        using var stop = new StopSignal();

        await using var services = ServiceSet.Create(settings.Listeners, loggers);
        using var export = settings.Metrics is null ? null : new PrometheusExport();
        await using var metrics = settings.Metrics is null ? null : await MetricsEndpoint.StartAsync(settings.Metrics, export!, logger);
        var inherited = SocketActivation.FromEnvironment();
        var bound = await ListenerBinder.BindAllAsync(settings.Listeners, inherited, CancellationToken.None);
        if (inherited.Remaining > 0)
        {
            Log.UnusedInheritedSockets(logger, string.Join(", ", inherited.RemainingNames));
            inherited.CloseRemaining();
        }

        await using var listeners = new ListenerSet(loggers, settings.Logging.OpenLineLevel);
        await listeners.StartAsync(bound.Select(b => (b, services[b.Settings])));
        using var systemd = new SystemdNotifier();
        await using var logReopener = new LogReopener(logOutput, logger);
        await using var reloader = new ConfigReloader(settings, services, listeners, loggers, systemd);
        await using var status = pidFile is null
            ? null
            : StatusSocket.Open(StatusSocket.PathFor(pidFile.Path),
                new StatusSources(DateTimeOffset.UtcNow, () => listeners.Running, () => listeners.Serving, () => reloader.Last, () => metrics?.EndPoint),
                reason => Log.StatusFailed(logger, reason));

        foreach (var listener in bound)
        {
            stdout.WriteLine($"listening {listener.Service} {listener.Address}");
            Log.Listening(logger, listener);
        }
        if (metrics is not null)
        {
            stdout.WriteLine($"listening metrics {metrics.EndPoint}");
            Log.MetricsListening(logger, $"http://{Ferry.Platform.Net.EndpointText.Format(metrics.EndPoint)}{MetricsEndpoint.Path}");
        }
        stdout.Flush();
        daemon?.Ready();
        systemd.Notify($"READY=1\nSTATUS={DescribeLoad(listeners)}\nMAINPID={Environment.ProcessId}");
        using var reporting = new CancellationTokenSource();
        var statusReports = systemd.ReportStatusAsync(() => DescribeLoad(listeners), TimeSpan.FromSeconds(5), reporting.Token);

        await stop.WaitAsync();
        await reporting.CancelAsync();
        await statusReports;

        systemd.Notify("STOPPING=1");
        Log.Stopping(logger, listeners.Bound.Sum(l => l.Counters.Active), settings.ShutdownTimeout.TotalSeconds);
        // Staged: stop accepting, let connections finish, abort at the deadline; then the
        // services flush what they hold (a sink's file) after their connections are gone.
        await listeners.StopAllAsync(settings.ShutdownTimeout);
        await services.DisposeAsync();
        Log.Stopped(logger);
        return ExitCodes.Ok;
    }

    private static string DescribeLoad(ListenerSet listeners)
    {
        var bound = listeners.Bound;
        return $"{bound.Sum(l => l.Counters.Active)} open connection(s) on {bound.Count} listener(s), {bound.Sum(l => l.Counters.Accepted)} accepted";
    }
}
