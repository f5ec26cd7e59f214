using System.Threading.Tasks.Sources;

namespace Ferry.Daemon.Transport;

/// <summary>
/// "The socket may be readable (or writable) now", from the epoll thread to the one waiter of a
/// connection: a read that found the socket drained (<see cref="SocketReader"/>), the drain of a
/// writer whose socket refused more (<see cref="SocketWriter"/>), a <see cref="SocketRelay"/>, a
/// connect in progress, a lingering close. Edge-triggered epoll reports a change once; a change that
/// comes while nobody waits is kept, so the next wait returns at once and nothing is missed.
/// The waiter resumes on the thread that signals (the epoll thread): no hop.
/// </summary>
/// <remarks>
/// One field holds the whole state, changed only by compare-and-swap: null (nobody waits,
/// nothing pending), <see cref="Pending"/> (signalled while nobody waited), or the waiter's
/// continuation. There is no reset between waits, so a signal on one thread can never
/// interleave with the next wait on another; the token is not needed and not checked. Not a
/// general-purpose awaitable: one waiter at a time, and execution context is not flowed (the
/// reads and drains that wait run in no particular context).
/// </remarks>
internal sealed class ReadinessSignal : IValueTaskSource
{
    private static readonly Action<object?> Pending = _ => { };

    private Action<object?>? _next;
    private object? _continuationState;

    /// <summary>Completes when the next signal comes, or at once if one came since the last wait.</summary>
    public ValueTask WaitAsync() =>
        TryConsume() ? ValueTask.CompletedTask : new ValueTask(this, 0);

    public void Signal()
    {
        while (true)
        {
            Action<object?>? next = Volatile.Read(ref _next);
            if (ReferenceEquals(next, Pending))
                return;
            if (next is null)
            {
                if (Interlocked.CompareExchange(ref _next, Pending, null) is null)
                    return;
                continue;
            }
            if (ReferenceEquals(Interlocked.CompareExchange(ref _next, null, next), next))
            {
                // Not kept: an idle connection's last waiter (a finished connect, a drained flush)
                // would otherwise stay reachable, with everything it holds, until the next wait.
                object? state = _continuationState;
                _continuationState = null;
                next(state);
                return;
            }
        }
    }

    /// <summary>Takes a signal that came while nobody waited, if there is one, without waiting.</summary>
    public bool TryConsume() =>
        ReferenceEquals(Volatile.Read(ref _next), Pending)
        && ReferenceEquals(Interlocked.CompareExchange(ref _next, null, Pending), Pending);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) =>
        ReferenceEquals(Volatile.Read(ref _next), Pending) ? ValueTaskSourceStatus.Succeeded : ValueTaskSourceStatus.Pending;

    /// <summary>Takes the signal the wait completed with, if it is still pending (a wait that completed at once).</summary>
    void IValueTaskSource.GetResult(short token) => TryConsume();

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        _continuationState = state;
        if (Interlocked.CompareExchange(ref _next, continuation, null) is null)
            return;
        // A signal came between the wait and this registration: take it and resume the waiter,
        // off this stack (it is inside the waiter's own await).
        _continuationState = null;
        TryConsume();
        ThreadPool.UnsafeQueueUserWorkItem(continuation, state, preferLocal: true);
    }
}
