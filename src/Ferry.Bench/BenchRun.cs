using System.Diagnostics;
using System.Net.Sockets;

namespace Ferry.Client.Bench;

/// <summary>
/// Runs one benchmark: connects, warms up, measures for the duration, stops every loop and
/// gathers the report. Bounded in time: loops still waiting on the server a grace period
/// after the end are cancelled and counted as errors.
/// </summary>
internal sealed class BenchRun(BenchSettings settings, IBenchProgress progress)
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    // Connecting all connections before the clock starts, a few at a time so a listen
    // backlog of 128 is never overrun.
    private const int ConnectConcurrency = 32;

    private readonly BenchPhase _phase = new();

    public async Task<BenchReport> RunAsync(CancellationToken cancellationToken)
    {
        // Bulk receives in 64 KiB pieces; ping-pong and connect check one message at a time.
        var pattern = new PayloadPattern(Math.Max(settings.MessageSize, 64 * 1024));
        bool recordsLatency = settings.Mode is BenchMode.PingPong or BenchMode.Connect or BenchMode.Chat;
        var tallies = Enumerable.Range(0, settings.Mode == BenchMode.Idle ? 1 : settings.Connections)
            .Select(_ => new ConnectionTally(recordsLatency))
            .ToArray();
        string title = $"{ModeName(settings.Mode)} {settings.Host}:{settings.Target.Port}";

        if (settings.Mode == BenchMode.Idle)
            return await RunIdleAsync(pattern, tallies[0], title, cancellationToken);

        Socket[] sockets = [];
        IDisposable? epollLoad = null;
        if (settings.Mode == BenchMode.Connect)
            sockets = await ProbeAsync(cancellationToken);
        if (settings.UsesEpoll)
            epollLoad = settings.Mode switch
            {
                BenchMode.PingPong => EpollPingPong.Open(settings, pattern, _phase, tallies),
                BenchMode.Bulk => EpollBulk.Open(settings, pattern, _phase, tallies),
                _ => new EpollConnectCycles(settings, pattern, _phase, tallies),
            };
        else if (settings.Mode != BenchMode.Connect)
            sockets = await ConnectAllAsync(cancellationToken);
        ChatRoom? chatRoom = null;
        if (settings.Mode == BenchMode.Chat)
        {
            chatRoom = new ChatRoom(sockets, settings.MessageSize, _phase, tallies, settings.RatePerConnection);
            await chatRoom.JoinAsync(ChatRoom.NewRoomName(), cancellationToken);
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task epollRun = Task.CompletedTask;
        try
        {
            long? rssBefore = ReadServerRss();
            deadline.CancelAfter(settings.Warmup + settings.Duration + StopGrace);
            Task[] loops = epollLoad switch
            {
                EpollPingPong pingPong => [epollRun = pingPong.RunAsync(deadline.Token)],
                EpollConnectCycles cycles => [epollRun = cycles.RunAsync(deadline.Token)],
                EpollBulk bulk => [epollRun = bulk.RunAsync(deadline.Token)],
                _ when chatRoom is not null => [chatRoom.RunAsync(deadline.Token)],
                _ => StartLoops(sockets, pattern, tallies, deadline.Token),
            };

            await Task.Delay(settings.Warmup, cancellationToken);
            int gen0 = GC.CollectionCount(0);
            long allocated = GC.GetTotalAllocatedBytes();
            _phase.BeginMeasuring();
            await progress.ShowAsync(title, settings.Duration, () => BenchTotals.Sum(tallies), cancellationToken);
            _phase.Stop();
            gen0 = GC.CollectionCount(0) - gen0;
            allocated = GC.GetTotalAllocatedBytes() - allocated;
            long? rssAfter = ReadServerRss();

            await Task.WhenAll(loops);
            cancellationToken.ThrowIfCancellationRequested();
            return Report(tallies, null, rssBefore, rssAfter, gen0, allocated);
        }
        finally
        {
            foreach (Socket socket in sockets)
                socket.Dispose();
            // The epoll thread uses the fds until it returns; on an early exit (Ctrl-C) stop it first.
            if (!epollRun.IsCompleted)
            {
                await deadline.CancelAsync();
                await epollRun.ContinueWith(_ => { }, TaskScheduler.Default);
            }
            epollLoad?.Dispose();
        }
    }

    public static string ModeName(BenchMode mode) => mode.ToString().ToLowerInvariant();

    private Task[] StartLoops(Socket[] sockets, PayloadPattern pattern, ConnectionTally[] tallies, CancellationToken token)
    {
        var loops = new Task[tallies.Length];
        long firstSend = Stopwatch.GetTimestamp();
        for (int i = 0; i < loops.Length; i++)
        {
            int seed = i;
            ConnectionTally tally = tallies[i];
            loops[i] = settings.Mode switch
            {
                BenchMode.PingPong => new PingPongLoop(
                    sockets[i], seed, pattern, settings.MessageSize, _phase, tally, Schedule(firstSend, i)).RunAsync(token),
                BenchMode.Bulk => new BulkLoop(sockets[i], seed, pattern, settings.MessageSize, _phase, tally).RunAsync(token),
                _ => new ConnectLoop(settings.Target, seed, pattern, settings.MessageSize, _phase, tally).RunAsync(token),
            };
        }
        return loops;
    }

    /// <summary>Each connection's share of the total rate, their first sends spread over one interval.</summary>
    private SendSchedule? Schedule(long firstSend, int index) => settings.RatePerConnection is double perConnection
        ? SendSchedule.Staggered(firstSend, perConnection, index, settings.Connections)
        : null;

    private async Task<Socket[]> ConnectAllAsync(CancellationToken cancellationToken)
    {
        var sockets = new Socket?[settings.Connections];
        int next = -1;
        try
        {
            var workers = Enumerable.Range(0, Math.Min(ConnectConcurrency, sockets.Length)).Select(_ => Task.Run(async () =>
            {
                int index;
                while ((index = Interlocked.Increment(ref next)) < sockets.Length)
                    sockets[index] = await ConnectOrFailAsync(cancellationToken);
            }, cancellationToken));
            await Task.WhenAll(workers);
            return sockets.Select(socket => socket!).ToArray();
        }
        catch
        {
            foreach (Socket? socket in sockets)
                socket?.Dispose();
            throw;
        }
    }

    /// <summary>Connect mode opens its own sockets; one trial connection fails fast on a wrong address.</summary>
    private async Task<Socket[]> ProbeAsync(CancellationToken cancellationToken)
    {
        using Socket probe = await ConnectOrFailAsync(cancellationToken);
        return [];
    }

    private async Task<Socket> ConnectOrFailAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await BenchSocket.ConnectAsync(settings.Target, cancellationToken);
        }
        catch (SocketException exception)
        {
            throw new CommandFailedException(
                $"connect to {settings.Host} port {settings.Target.Port}: {BenchSocket.Describe(exception)}");
        }
    }

    private async Task<BenchReport> RunIdleAsync(
        PayloadPattern pattern, ConnectionTally tally, string title, CancellationToken cancellationToken)
    {
        // One connection used for a warm-up echo first, so the server's code paths are loaded
        // (JIT, pools) before the baseline and the delta is the connections' own memory.
        using (Socket warm = await ConnectOrFailAsync(cancellationToken))
        {
            var buffer = new byte[settings.MessageSize];
            long end = Stopwatch.GetTimestamp() + (long)(settings.Warmup.TotalSeconds * Stopwatch.Frequency);
            long offset = 0;
            do
            {
                await BenchSocket.SendAllAsync(warm, pattern.Slice(0, offset, settings.MessageSize), cancellationToken);
                int corrupt = await BenchSocket.ReceiveEchoAsync(warm, buffer, settings.MessageSize, pattern, 0, offset, cancellationToken);
                if (corrupt != 0)
                    tally.CountError(corrupt < 0 ? "server closed the warm-up connection" : "warm-up echo differed from what was sent");
                offset += settings.MessageSize;
            }
            while (Stopwatch.GetTimestamp() < end && !cancellationToken.IsCancellationRequested);
        }
        // Let the server finish closing the warm-up connection before the baseline.
        await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        long? rssBefore = ReadServerRss();

        await using var idle = new IdleConnections(settings, pattern, tally);
        _phase.BeginMeasuring();
        await idle.OpenAsync(cancellationToken);
        await progress.ShowAsync(title, settings.Duration, () => BenchTotals.Sum([tally]), cancellationToken);
        long? rssAfter = ReadServerRss();
        _phase.Stop();
        return Report([tally], idle.Count, rssBefore, rssAfter, 0, 0);
    }

    private long? ReadServerRss() => settings.ServerPid is int pid ? ServerMemory.ResidentBytes(pid) : null;

    private BenchReport Report(
        ConnectionTally[] tallies, int? idleConnections, long? rssBefore, long? rssAfter, int gen0, long allocated)
    {
        BenchTotals totals = BenchTotals.Sum(tallies);
        LatencySummary? latency = tallies[0].Latency is null
            ? null
            : LatencySummary.From(LatencyHistogram.Merge(tallies.Select(tally => tally.Latency!)));
        // Bulk has no message boundaries on the way back: count whole writes echoed.
        long messages = settings.Mode == BenchMode.Bulk ? totals.Bytes / settings.MessageSize : totals.Messages;
        return new BenchReport(
            settings, _phase.Measured, messages, totals.Bytes, totals.Errors, totals.CorruptBytes,
            tallies.Select(tally => tally.FirstError).FirstOrDefault(error => error is not null),
            latency, idleConnections, rssBefore, rssAfter, gen0, allocated);
    }
}
