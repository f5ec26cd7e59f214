using Ferry.Daemon.Transport;

namespace Ferry.Tests;

/// <summary>
/// The hand-off between an epoll thread and a connection loop. Edge-triggered epoll reports a
/// change once, so a signal must never be lost: kept when nobody waits, delivered when someone does.
/// </summary>
public sealed class ReadinessSignalTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Far beyond what the loops need; only a lost wake-up comes near it.</summary>
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    /// <summary>
    /// For a whole race of many rounds between spinning threads: on a busy machine (another
    /// process on both cores) it crawls, and must still end by a lost wake-up's own message
    /// (after <see cref="Generous"/> in one round), not by this bound.
    /// </summary>
    private static readonly TimeSpan WholeRun = TimeSpan.FromMinutes(3);

    /// <summary>
    /// Rounds of the races between one waiter and four spinning signallers. With two processes
    /// of `yes` on both cores, 100,000 rounds took 170 s of the 180 s bound (five spinning threads
    /// on two contended cores): 20,000 keep thousands of races per run and a wide margin.
    /// </summary>
    private const int RacingRounds = 20_000;

    [Fact]
    public void ASignalBeforeTheWaitCompletesTheWaitAtOnce()
    {
        var signal = new ReadinessSignal();

        signal.Signal();
        ValueTask waiting = signal.WaitAsync();

        Assert.True(waiting.IsCompletedSuccessfully, "the signal that came first was lost");
    }

    [Fact]
    public async Task ASignalAfterTheWaitCompletesIt()
    {
        var signal = new ReadinessSignal();

        ValueTask waiting = signal.WaitAsync();
        Assert.False(waiting.IsCompleted, "the wait completed with no signal");
        signal.Signal();

        Assert.True(waiting.IsCompletedSuccessfully, "the signal did not complete the wait");
        await waiting;
    }

    [Fact]
    public async Task TwoSignalsBeforeOneWaitAreOne()
    {
        var signal = new ReadinessSignal();

        signal.Signal();
        signal.Signal();
        Assert.True(signal.WaitAsync().IsCompletedSuccessfully);
        ValueTask second = signal.WaitAsync();

        // "May be readable now" twice is still once: the loop reads until EAGAIN anyway.
        Assert.False(second.IsCompleted, "a second signal was counted");
        signal.Signal();
        await second;
    }

    [Fact]
    public async Task ASignalIsReusableAcrossManyWaits()
    {
        var signal = new ReadinessSignal();

        for (int i = 0; i < 1000; i++)
        {
            ValueTask waiting = signal.WaitAsync();
            Assert.False(waiting.IsCompleted, $"wait {i} completed with no signal");
            signal.Signal();
            await waiting;
        }
    }

    /// <summary>
    /// Two threads hand a turn back and forth through two signals, so every wait has exactly one
    /// signal to complete it and a lost one stops the game. Each side blocks its own thread (not an
    /// await, whose continuation would run inline on the signalling thread and serialise both
    /// sides), so signal and wait truly race: the signal comes before, during or after the wait.
    /// </summary>
    [Fact]
    public async Task APingPongBetweenTwoThreadsLosesNoWakeUp()
    {
        const int Rounds = 100_000;
        var ping = new ReadinessSignal();
        var pong = new ReadinessSignal();

        Task pinging = OnOwnThread(() =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                ping.Signal();
                BlockUntilSignalled(pong, $"pong {i}");
            }
        });
        Task ponging = OnOwnThread(() =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                BlockUntilSignalled(ping, $"ping {i}");
                pong.Signal();
            }
        });

        await Task.WhenAll(pinging, ponging).WaitAsync(WholeRun, Token);
    }

    /// <summary>
    /// Signals come from a different thread each round (as after a connection moves between
    /// threads), racing with the waits of one loop: the waiter announces the round, then waits,
    /// and only that round's signaller signals, once. Every wait has exactly one signal that came
    /// after the previous wait ended, so one lost wake-up stops the game.
    /// </summary>
    [Fact]
    public async Task SignalsFromThreadsTakingTurnsLoseNoWakeUp()
    {
        const int Rounds = RacingRounds, Signallers = 4;
        var signal = new ReadinessSignal();
        var rounds = new AnnouncedRounds();

        Task[] signalling = Enumerable.Range(0, Signallers).Select(index => OnOwnThread(() =>
        {
            for (int round = index + 1; rounds.AwaitRound(round); round += Signallers)
                signal.Signal();
        })).ToArray();
        Task waiting = OnOwnThread(() => WaitEveryRound(signal, rounds, Rounds));

        await waiting.WaitAsync(WholeRun, Token);
        await Task.WhenAll(signalling).WaitAsync(WholeRun, Token);
    }

    /// <summary>
    /// Several threads signal at the same moment (the epoll thread and a closing thread both
    /// may), racing with each other and with the wait: whichever wins, the waiter wakes, and no
    /// signaller fails (a double completion of the wait would throw in one of them).
    /// </summary>
    [Fact]
    public async Task ConcurrentSignalsWakeTheWaiterAndNeverFail()
    {
        const int Rounds = RacingRounds, Signallers = 4;
        var signal = new ReadinessSignal();
        var rounds = new AnnouncedRounds();

        Task[] signalling = Enumerable.Range(0, Signallers).Select(_ => OnOwnThread(() =>
        {
            for (int seen = 0; rounds.AwaitNewerThan(seen, out seen);)
                signal.Signal();
        })).ToArray();
        Task waiting = OnOwnThread(() => WaitEveryRound(signal, rounds, Rounds));

        await waiting.WaitAsync(WholeRun, Token);
        await Task.WhenAll(signalling).WaitAsync(WholeRun, Token);
    }

    private static void WaitEveryRound(ReadinessSignal signal, AnnouncedRounds rounds, int count)
    {
        try
        {
            for (int round = 1; round <= count; round++)
            {
                rounds.Announce(round);
                BlockUntilSignalled(signal, $"round {round}");
            }
        }
        finally
        {
            rounds.Finish();
        }
    }

    /// <summary>The waiter's round, which the signallers spin on (a lock or event would order them).</summary>
    private sealed class AnnouncedRounds
    {
        private int _round;
        private volatile bool _finished;

        public void Announce(int round) => Volatile.Write(ref _round, round);

        public void Finish() => _finished = true;

        /// <summary>Spins until the round is announced; false when the waiter has stopped.</summary>
        public bool AwaitRound(int round)
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref _round) < round)
            {
                if (_finished)
                    return false;
                spin.SpinOnce(sleep1Threshold: -1);
            }
            return true;
        }

        /// <summary>Spins until a round after <paramref name="seen"/> is announced; false when the waiter has stopped.</summary>
        public bool AwaitNewerThan(int seen, out int announced)
        {
            var spin = new SpinWait();
            while ((announced = Volatile.Read(ref _round)) == seen)
            {
                if (_finished)
                    return false;
                spin.SpinOnce(sleep1Threshold: -1);
            }
            return true;
        }
    }

    private static void BlockUntilSignalled(ReadinessSignal signal, string what)
    {
        ValueTask waiting = signal.WaitAsync();
        if (!waiting.IsCompleted)
        {
            // Not disposed: after a timeout the signal may still come and set it.
            var woken = new ManualResetEventSlim();
            waiting.GetAwaiter().OnCompleted(woken.Set);
            if (!woken.Wait(Generous))
                throw new TimeoutException($"{what}: the wake-up was lost");
        }
        waiting.GetAwaiter().GetResult();
    }

    /// <summary>A dedicated thread, so blocking it starves nothing else in the test run.</summary>
    private static Task OnOwnThread(Action body)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                body();
                done.SetResult();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        })
        { IsBackground = true };
        thread.Start();
        return done.Task;
    }
}
