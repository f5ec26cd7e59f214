using Ferry.Bench.Async;
using Ferry.Bench.Chat;
using Ferry.Bench.Datagrams;
using Ferry.Bench.Epoll;
using Ferry.Bench.Reports;
using Ferry.Bench.Threads;

namespace Ferry.Bench;

/// <summary>
/// Runs one benchmark: opens the connections, warms up, measures for the duration, stops every
/// connection and gathers the report. Bounded in time: connections still waiting on the server
/// a grace period after the end are given up and counted as errors.
/// </summary>
internal sealed class BenchRun(BenchSettings settings, IBenchProgress progress)
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    private readonly BenchPhase _phase = new();

    public Task<BenchReport> RunAsync(CancellationToken cancellationToken)
    {
        // Bulk receives in 64 KiB pieces; ping-pong and connect check one message at a time.
        var pattern = new PayloadPattern(Math.Max(settings.MessageSize, 64 * 1024));
        ConnectionTally[] tallies = Enumerable.Range(0, settings.Connections)
            .Select(_ => new ConnectionTally(settings.RecordsLatency))
            .ToArray();
        var context = new BenchContext(settings, pattern, _phase, tallies);

        // The one place that says what runs each mode.
        return (settings.Mode, settings.EngineInUse) switch
        {
            (BenchMode.PingPong, BenchEngine.Epoll) when settings.Transport == BenchTransport.Udp =>
                MeasureAsync(new EpollDriver(context, all => new EpollDatagramPingPong(all)), tallies, cancellationToken),
            (BenchMode.PingPong, BenchEngine.Threads) when settings.Transport == BenchTransport.Udp =>
                MeasureAsync(new ThreadLoad(context, ThreadDatagramPingPong.Run), tallies, cancellationToken),
            (BenchMode.Idle, _) => MeasureIdleAsync(new IdleConnections(context), tallies, cancellationToken),
            (BenchMode.Chat, _) => MeasureAsync(new ChatLoad(context), tallies, cancellationToken),
            (BenchMode.PingPong, BenchEngine.Epoll) => MeasureAsync(new EpollDriver(context, all => new EpollPingPong(all)), tallies, cancellationToken),
            (BenchMode.Bulk, BenchEngine.Epoll) => MeasureAsync(new EpollDriver(context, all => new EpollBulk(all)), tallies, cancellationToken),
            (BenchMode.Connect, BenchEngine.Epoll) => MeasureAsync(new EpollDriver(context, all => new EpollConnectCycles(all)), tallies, cancellationToken),
            (BenchMode.PingPong, BenchEngine.Threads) => MeasureAsync(new ThreadLoad(context, ThreadPingPong.Run), tallies, cancellationToken),
            (BenchMode.Bulk, BenchEngine.Threads) => MeasureAsync(new ThreadLoad(context, ThreadBulk.Run), tallies, cancellationToken),
            (BenchMode.Connect, BenchEngine.Threads) => MeasureAsync(new ThreadLoad(context, ThreadConnect.Run), tallies, cancellationToken),
            (BenchMode.PingPong, _) => MeasureAsync(new AsyncLoad(context, PingPongLoop.RunAsync), tallies, cancellationToken),
            (BenchMode.Bulk, _) => MeasureAsync(new AsyncLoad(context, BulkLoop.RunAsync), tallies, cancellationToken),
            _ => MeasureAsync(new AsyncLoad(context, ConnectLoop.RunAsync), tallies, cancellationToken),
        };
    }

    private async Task<BenchReport> MeasureAsync(IBenchLoad load, ConnectionTally[] tallies, CancellationToken cancellationToken)
    {
        using (load)
        {
            if (settings.Transport == BenchTransport.Udp)
                await DatagramProbe.CheckAsync(settings, cancellationToken);
            await load.OpenAsync(cancellationToken);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            long? rssBefore = ReadServerRss();
            deadline.CancelAfter(settings.Warmup + settings.Duration + StopGrace);
            _phase.Start();
            Task running = load.RunAsync(deadline.Token);
            try
            {
                await Task.Delay(settings.Warmup, cancellationToken);
                var window = MeasurementWindow.Open(settings.ServerPid);
                _phase.BeginMeasuring();
                await progress.ShowAsync(Title(), settings.Duration, () => BenchTotals.Sum(tallies), cancellationToken);
                _phase.Stop();
                WindowCosts costs = window.Close();
                long? rssAfter = ReadServerRss();

                await running;
                cancellationToken.ThrowIfCancellationRequested();
                return Report(tallies, null, rssBefore, rssAfter, costs);
            }
            finally
            {
                // The load's threads use its sockets until they return; on an early exit (Ctrl-C)
                // end them before the sockets are disposed.
                if (!running.IsCompleted)
                {
                    await deadline.CancelAsync();
                    await running.ContinueWith(_ => { }, TaskScheduler.Default);
                }
            }
        }
    }

    /// <summary>Idle mode measures memory, not traffic: the server's growth while the connections are held.</summary>
    private async Task<BenchReport> MeasureIdleAsync(IdleConnections idle, ConnectionTally[] tallies, CancellationToken cancellationToken)
    {
        using (idle)
        {
            await idle.WarmUpAsync(cancellationToken);
            long? rssBefore = ReadServerRss();
            _phase.BeginMeasuring();
            await idle.OpenAsync(cancellationToken);
            await progress.ShowAsync(Title(), settings.Duration, () => BenchTotals.Sum(tallies), cancellationToken);
            long? rssAfter = ReadServerRss();
            _phase.Stop();
            return Report(tallies, idle.Count, rssBefore, rssAfter, costs: null);
        }
    }

    private string Title() => $"{BenchSettings.NameOf(settings.Mode)} {settings.Address}";

    private long? ReadServerRss() => settings.ServerPid is int pid ? ServerProcess.ResidentBytes(pid) : null;

    private BenchReport Report(ConnectionTally[] tallies, int? idleConnections, long? rssBefore, long? rssAfter, WindowCosts? costs)
    {
        BenchTotals totals = BenchTotals.Sum(tallies);
        LatencySummary? latency = settings.RecordsLatency
            ? LatencySummary.From(LatencyHistogram.Merge(tallies.Select(tally => tally.Latency!)))
            : null;
        long errors = totals.Errors;
        string? firstError = tallies.Select(tally => tally.FirstError).FirstOrDefault(error => error is not null);
        if (settings.Transport == BenchTransport.Udp && totals.Messages == 0 && totals.Lost > 0)
        {
            // Loss alone is no error, but a run that measured nothing is not a result.
            errors++;
            firstError ??= $"no datagram was echoed while measuring ({totals.Lost} lost)";
        }
        return new BenchReport(
            settings, _phase.Measured, totals.Messages, totals.Bytes, errors, totals.CorruptBytes, firstError,
            latency, idleConnections, rssBefore, rssAfter,
            costs?.ClientGen0Collections ?? 0, costs?.ClientAllocatedBytes ?? 0, costs?.ServerCpu, costs?.ClientCpu)
        {
            Lost = totals.Lost,
            Late = totals.Late,
        };
    }
}
