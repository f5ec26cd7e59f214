using System.Buffers;
using System.IO.Pipelines;

namespace Ferry.Daemon.Transport;

/// <summary>
/// The output of a <see cref="SocketConnection"/>: a <see cref="PipeWriter"/> whose
/// <see cref="FlushAsync"/> sends on the service's own thread with a non-blocking <c>send</c>.
/// Only what the socket does not take at once is kept, and sent by a drain that waits for
/// epoll's "writable"; <see cref="FlushAsync"/> waits only when that backlog passes
/// <see cref="PauseBytes"/> (backpressure, per connection).
/// </summary>
/// <remarks>
/// One writer at a time, as for any <see cref="PipeWriter"/>; the drain runs on the epoll thread.
/// The two share the chain of blocks under one lock, and only the one that holds "sending" calls
/// <c>send</c>. Ending, as Kestrel's transport does it: <see cref="Complete"/> sends what is left,
/// then the connection shuts the socket down both ways and closes it.
/// </remarks>
internal sealed class SocketWriter : PipeWriter
{
    /// <summary>Unsent output at which <see cref="FlushAsync"/> waits, and at which it resumes.</summary>
    public const long PauseBytes = 64 * 1024, ResumeBytes = 32 * 1024;

    private readonly SocketConnection _connection;
    private readonly MemoryPool<byte> _pool;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Flushed and unsent: from _head (from _headSent) to _tail (to its Committed); written and
    // not flushed: the tail from Committed to _written.
    private Segment? _head;
    private int _headSent;
    private Segment? _tail;
    private Segment? _spare;
    private int _written;
    private long _unsent;

    /// <summary>The service holds memory from GetMemory/GetSpan that it has not flushed: the tail is its.</summary>
    private bool _lent;
    private bool _sending;
    private bool _completed;
    private bool _cancelFlush;
    private TaskCompletionSource<FlushResult>? _flushWaiter;
    private long _unbroken;

    /// <summary>A send that failed other than by the peer's reset: a bug or the system's, thrown to the service.</summary>
    private Exception? _unexpected;

    public SocketWriter(SocketConnection connection, MemoryPool<byte> pool)
    {
        _connection = connection;
        _pool = pool;
    }

    /// <summary>Completes once the output is over: all of it sent and the socket closed, or the socket closed under it.</summary>
    public Task Ended => _ended.Task;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _tail is null ? 0 : _written - _tail.Committed;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            int needed = Math.Max(1, sizeHint);
            if (_tail is null || _tail.Block.Length - _written < needed)
                AddSegment(needed);
            _lent = true;
            return _tail!.Block[_written..];
        }
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (_tail is null || (uint)bytes > (uint)(_tail.Block.Length - _written))
            throw new ArgumentOutOfRangeException(nameof(bytes), "more than the memory last asked for");
        _written += bytes;
    }

    /// <summary>A new tail; the old one keeps what it holds until sent. Under the lock.</summary>
    private void AddSegment(int atLeast)
    {
        if (_tail is not null && _tail.Committed < _written)
            Commit();
        // Bigger than a block: not from the block pool, which never rents more than one.
        IMemoryOwner<byte> owner = atLeast <= _pool.MaxBufferSize ? _pool.Rent(atLeast) : MemoryPool<byte>.Shared.Rent(atLeast);
        Segment segment = _spare ?? new Segment();
        _spare = null;
        segment.Take(owner);
        if (_tail is null || (_tail.Committed == _headSent && ReferenceEquals(_head, _tail) && !_sending))
        {
            // Nothing unsent: start a fresh chain.
            if (_tail is not null)
                Release(_tail);
            _head = _tail = segment;
            _headSent = 0;
        }
        else
        {
            _tail.Next = segment;
            _tail = segment;
        }
        _written = 0;
    }

    /// <summary>Makes what the service wrote sendable. Under the lock.</summary>
    private void Commit()
    {
        _unsent += _written - _tail!.Committed;
        _tail.Committed = _written;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        bool send;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            _lent = false;
            if (_unexpected is not null)
                throw _unexpected;
            if (_cancelFlush)
            {
                _cancelFlush = false;
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: false));
            }
            if (_connection.IsSocketClosed)
            {
                // Nobody will send it: drop what was written.
                if (!_sending)
                    ReleaseAll();
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
            }
            if (_tail is not null)
                Commit();
            send = !_sending && _unsent > 0;
            if (send)
                _sending = true;
        }
        if (send)
        {
            Progress progress = SendPending();
            if (progress == Progress.AllSent)
                return Flushed(); // the common case: nothing left to wait for
            if (progress == Progress.WouldBlock)
                _ = DrainAsync();
        }

        lock (_gate)
        {
            if (_unexpected is not null)
                throw _unexpected;
            if (_connection.IsSocketClosed)
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
            if (_unsent > PauseBytes)
            {
                // The peer reads slower than the service writes: wait for the drain.
                // Completed under the lock by the drain, so the service resumes elsewhere (thread pool).
                _flushWaiter = new TaskCompletionSource<FlushResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                return new ValueTask<FlushResult>(WaitForDrainAsync(_flushWaiter.Task, cancellationToken));
            }
        }
        return Flushed();
    }

    /// <summary>A flush that need not wait, unless this connection has had the thread long enough.</summary>
    private ValueTask<FlushResult> Flushed()
    {
        if (_unbroken >= SocketConnection.FairShareBytes)
        {
            // A service that writes as fast as loopback takes must not keep the epoll thread to itself.
            _unbroken = 0;
            return YieldAsync();
        }
        return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
    }

    private static async Task<FlushResult> WaitForDrainAsync(Task<FlushResult> drained, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? await drained.WaitAsync(cancellationToken) : await drained;

    private static async ValueTask<FlushResult> YieldAsync()
    {
        await Task.Yield();
        return new FlushResult(isCanceled: false, isCompleted: false);
    }

    private enum Progress { AllSent, WouldBlock, Closed }

    /// <summary>
    /// Sends until nothing is unsent, the socket would block, or it is closed. Only the holder
    /// of <see cref="_sending"/> calls it; it keeps <see cref="_sending"/> only on WouldBlock.
    /// </summary>
    private Progress SendPending()
    {
        Segment? segment = null; // the one the last send was from: its bytes are accounted under the next lock
        int sent = 0;
        while (true)
        {
            int start = 0, end = 0;
            bool ended = false;
            lock (_gate)
            {
                if (segment is not null)
                {
                    _headSent += sent;
                    _unsent -= sent;
                    _unbroken += sent;
                    if (_flushWaiter is not null && _unsent <= ResumeBytes)
                        CompleteFlushWaiter(new FlushResult(isCanceled: false, isCompleted: false));
                    segment = null;
                }
                if (_connection.IsSocketClosed || _unexpected is not null)
                {
                    _sending = false;
                    EndAfterClose();
                    return Progress.Closed;
                }
                if (_unsent == 0)
                {
                    _sending = false;
                    if (!_completed)
                    {
                        // Idle: no block stays with the connection unless the service is writing into it.
                        if (!_lent && _tail is not null && _tail.Committed == _written)
                            ReleaseAll();
                        CompleteFlushWaiter(new FlushResult(isCanceled: false, isCompleted: false));
                        return Progress.AllSent;
                    }
                    ReleaseAll();
                    ended = true;
                }
                else
                {
                    Segment head = _head!;
                    if (_headSent == head.Committed)
                    {
                        // This one is sent; a fully sent block that is not the tail goes back.
                        _head = head.Next!;
                        _headSent = 0;
                        Release(head);
                        continue;
                    }
                    segment = head;
                    start = _headSent;
                    end = head.Committed;
                }
            }
            if (ended)
            {
                // All sent and the output is complete: FIN and close, outside the lock (closing wakes the loops).
                _connection.CloseSocket();
                _ended.TrySetResult();
                return Progress.Closed;
            }

            // Outside the lock: the service may write on into the tail meanwhile (past Committed).
            sent = _connection.Send(segment!.Block.Span[start..end], out int error);
            if (sent >= 0)
                continue;
            segment = null;
            if (error == LinuxCalls.ErrorWouldBlock)
            {
                _unbroken = 0;
                return Progress.WouldBlock;
            }
            if (!_connection.IsSocketClosed)
            {
                Exception failure = LinuxCalls.Failure(error, "send");
                if (failure is Microsoft.AspNetCore.Connections.ConnectionResetException reset)
                    _connection.PeerReset(reset); // the service's next flush says the output is complete
                else
                    _unexpected = failure;
                _connection.CloseSocket();
            }
        }
    }

    /// <summary>Sends the backlog whenever epoll says the socket is writable again.</summary>
    private async Task DrainAsync()
    {
        do
            await _connection.Writable.WaitAsync();
        while (SendPending() == Progress.WouldBlock);
    }

    /// <summary>The socket was closed (abort, reset, or the end): wake a waiting flush, give blocks back. Under the lock.</summary>
    private void EndAfterClose()
    {
        CompleteFlushWaiter(new FlushResult(isCanceled: false, isCompleted: true));
        if (_completed)
        {
            ReleaseAll();
            _ended.TrySetResult();
        }
    }

    private void CompleteFlushWaiter(FlushResult result)
    {
        TaskCompletionSource<FlushResult>? waiter = _flushWaiter;
        _flushWaiter = null;
        waiter?.TrySetResult(result);
    }

    /// <summary>Every block back to the pool. Under the lock, and only when no send is in progress.</summary>
    private void ReleaseAll()
    {
        for (Segment? segment = _head; segment is not null;)
        {
            Segment? next = segment.Next;
            Release(segment);
            segment = next;
        }
        _head = _tail = null;
        _headSent = _written = 0;
        _unsent = 0;
    }

    public override void CancelPendingFlush()
    {
        lock (_gate)
        {
            if (_flushWaiter is not null)
                CompleteFlushWaiter(new FlushResult(isCanceled: true, isCompleted: false));
            else
                _cancelFlush = true;
        }
    }

    /// <summary>No more output: what was written is sent, then the socket is shut down and closed.</summary>
    public override void Complete(Exception? exception = null)
    {
        bool send;
        lock (_gate)
        {
            if (_completed)
                return;
            _completed = true;
            _lent = false;
            if (_tail is not null)
                Commit();
            if (_sending)
                return; // the drain ends it
            _sending = send = true;
        }
        if (send && SendPending() == Progress.WouldBlock)
            _ = DrainAsync();
    }

    /// <summary>
    /// The socket was closed by someone else (an abort): the drain, if one waits, sees it; without
    /// one, a completed output ends here.
    /// </summary>
    public void SocketClosed()
    {
        lock (_gate)
        {
            if (!_sending)
                EndAfterClose();
        }
    }

    /// <summary>Back to the pool; the segment object is kept for the next block (no allocation per message).</summary>
    private void Release(Segment segment)
    {
        segment.Return();
        _spare ??= segment;
    }

    /// <summary>One block of output; sent from the front, written at the back.</summary>
    private sealed class Segment
    {
        private IMemoryOwner<byte>? _owner;

        public Memory<byte> Block { get; private set; }

        public void Take(IMemoryOwner<byte> owner)
        {
            _owner = owner;
            Block = owner.Memory;
            Committed = 0;
            Next = null;
        }

        /// <summary>Bytes flushed into this block: they may be sent.</summary>
        public int Committed { get; set; }

        public Segment? Next { get; set; }

        public void Return()
        {
            _owner?.Dispose();
            _owner = null;
            Block = default;
            Committed = 0;
            Next = null;
        }
    }
}
