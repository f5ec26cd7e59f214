using System.Threading.Tasks.Sources;

namespace Ferry.Daemon.Transport;

/// <summary>
/// "The socket may be readable (or writable) now", from the epoll thread to the one loop of a
/// connection that waits for it. Edge-triggered epoll reports a change once; a change that
/// comes while nobody waits is kept, so the next wait returns at once and nothing is missed.
/// The waiter resumes on the thread that signals (the epoll thread): no hop.
/// </summary>
internal sealed class ReadinessSignal : IValueTaskSource
{
    private const int Idle = 0, Signalled = 1, Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> _core; // mutable struct: never copy, never readonly
    private int _state;
    private int _completingThread;

    /// <summary>Completes when the next signal comes, or at once if one came since the last wait.</summary>
    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signalled) == Signalled)
            return ValueTask.CompletedTask;
        // A waiter that found the last wait already complete (another thread's Signal) may get
        // here while that SetResult is still finishing inside the core; resetting the core then
        // would corrupt it. Wait for it: a few instructions. On the signalling thread itself (the
        // continuation runs inline, inside SetResult) the core is already done with.
        int completing = Volatile.Read(ref _completingThread);
        if (completing != 0 && completing != Environment.CurrentManagedThreadId)
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref _completingThread) != 0)
                spin.SpinOnce();
        }
        _core.Reset();
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) == Signalled)
        {
            // Signalled between the two exchanges.
            Volatile.Write(ref _state, Idle);
            return ValueTask.CompletedTask;
        }
        return new ValueTask(this, _core.Version);
    }

    public void Signal()
    {
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if (state == Signalled)
                return;
            if (state == Waiting)
            {
                if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
                {
                    Volatile.Write(ref _completingThread, Environment.CurrentManagedThreadId);
                    try
                    {
                        _core.SetResult(true);
                    }
                    finally
                    {
                        Volatile.Write(ref _completingThread, 0);
                    }
                    return;
                }
                continue;
            }
            if (Interlocked.CompareExchange(ref _state, Signalled, Idle) == Idle)
                return;
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
