using Ferry.Platform.Linux;
using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Transport;

/// <summary>
/// The output of a <see cref="SocketConnection"/>: a <see cref="PipeWriter"/> whose
/// <see cref="FlushAsync"/> sends on the service's own thread with a non-blocking <c>send</c>.
/// Only what the socket does not take at once is kept, and sent by a drain that waits for
/// epoll's "writable"; <see cref="FlushAsync"/> waits only when that backlog passes
/// <see cref="PauseBytes"/> (backpressure, per connection).
/// </summary>
/// <remarks>
/// One writer at a time, as for any <see cref="PipeWriter"/>. The chain of blocks is shared by the
/// service (writing at the back) and whoever sends (from the front) under one lock. The send path
/// has one owner at a time: the flushing service, or the drain once the socket has refused more;
/// only the owner calls <c>send</c> (<see cref="SendPending"/>). Ending: <see cref="Complete"/>
/// sends what is left, then a FIN; the connection closes the socket after that.
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

    /// <summary>Someone owns the send path (see the remarks); taken and given back under the lock.</summary>
    private bool _sendOwned;
    private bool _completed;

    /// <summary>Completed by the connection's own close: the close itself ends the output, no FIN before it.</summary>
    private bool _completedForClose;
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

    /// <summary>"Writable now": the connection's, from the epoll thread (or the close) to the drain.</summary>
    private ReadinessSignal Writable => _connection.Writable;

    /// <summary>Completes once the output is over: all of it sent and the FIN with it, or the socket closed under it.</summary>
    public Task Ended => _ended.Task;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _tail is null ? 0 : _written - _tail.Committed;

    /// <summary>Nothing written and not yet sent, and nobody sending: a relay may take the socket over.</summary>
    public bool IsIdle
    {
        get
        {
            lock (_gate)
                return !_sendOwned && _unsent == 0 && UnflushedBytes == 0;
        }
    }

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
        if (_tail is null || (_tail.Committed == _headSent && ReferenceEquals(_head, _tail) && !_sendOwned))
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
        bool owner;
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
            if (_connection.IsClosed)
            {
                // Nobody will send it: drop what was written.
                if (!_sendOwned)
                    ReleaseAll();
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
            }
            if (_tail is not null)
                Commit();
            owner = !_sendOwned && _unsent > 0;
            _sendOwned |= owner;
        }
        if (owner)
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
            if (_connection.IsClosed)
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
        if (_unbroken >= FairShare.Bytes)
        {
            _unbroken = 0;
            return YieldAsync();
        }
        return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
    }

    private static async Task<FlushResult> WaitForDrainAsync(Task<FlushResult> drained, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? await drained.WaitAsync(cancellationToken) : await drained;

    private static async ValueTask<FlushResult> YieldAsync()
    {
        await EpollLoop.YieldAsync();
        return new FlushResult(isCanceled: false, isCompleted: false);
    }

    private enum Progress { AllSent, WouldBlock, Closed }

    /// <summary>What the owner of the send path does next, decided under the lock.</summary>
    private enum Step { Send, Idle, Finished, Closed }

    /// <summary>
    /// Sends until nothing is unsent, the socket would block, or it is closed. Only the owner of
    /// the send path calls it; it keeps the ownership only when it returns
    /// <see cref="Progress.WouldBlock"/> (the drain then carries on).
    /// </summary>
    private Progress SendPending()
    {
        int sent = 0;
        while (true)
        {
            Step step;
            Memory<byte> chunk;
            lock (_gate)
            {
                // The last send is accounted for under the same lock that picks the next.
                if (sent > 0)
                    Account(sent);
                step = NextStep(out chunk);
            }
            switch (step)
            {
                case Step.Idle:
                    return Progress.AllSent;
                case Step.Closed:
                    return Progress.Closed;
                case Step.Finished:
                    // All sent and the output is complete: FIN, outside the lock (unless the close
                    // that comes next is the FIN).
                    if (!Volatile.Read(ref _completedForClose))
                        _connection.FinishSending();
                    _ended.TrySetResult();
                    return Progress.Closed;
            }

            // Outside the lock: the service may write on into the tail meanwhile (past Committed).
            sent = _connection.Send(chunk.Span, out int error);
            if (sent >= 0)
                continue;
            sent = 0;
            if (error == Errno.WouldBlock)
            {
                _unbroken = 0;
                return Progress.WouldBlock;
            }
            Failed(error);
        }
    }

    /// <summary>Bytes the kernel took: off the front of the chain; a waiting flush may resume. Under the lock.</summary>
    private void Account(int sent)
    {
        _headSent += sent;
        _unsent -= sent;
        _unbroken += sent;
        _connection.CountSent(sent);
        if (_flushWaiter is not null && _unsent <= ResumeBytes)
            CompleteFlushWaiter(new FlushResult(isCanceled: false, isCompleted: false));
    }

    /// <summary>
    /// The next chunk to send, or why there is none; gives up the send path unless the answer is
    /// <see cref="Step.Send"/>. Under the lock.
    /// </summary>
    private Step NextStep(out Memory<byte> chunk)
    {
        chunk = default;
        if (_connection.IsClosed || _unexpected is not null)
        {
            _sendOwned = false;
            EndAfterClose();
            return Step.Closed;
        }
        while (_unsent > 0)
        {
            Segment head = _head!;
            if (_headSent < head.Committed)
            {
                chunk = head.Block[_headSent..head.Committed];
                return Step.Send;
            }
            // This one is sent; a fully sent block that is not the tail goes back.
            _head = head.Next!;
            _headSent = 0;
            Release(head);
        }
        _sendOwned = false;
        if (_completed)
        {
            ReleaseAll();
            return Step.Finished;
        }
        // Idle: no block stays with the connection unless the service is writing into it.
        if (!_lent && _tail is not null && _tail.Committed == _written)
            ReleaseAll();
        CompleteFlushWaiter(new FlushResult(isCanceled: false, isCompleted: false));
        return Step.Idle;
    }

    /// <summary>
    /// A send failed: a reset ends the connection with that reason (the service's next flush says
    /// the output is complete, its next read throws the reset); anything else is also thrown to
    /// the service by its next flush.
    /// </summary>
    private void Failed(int error)
    {
        if (_connection.IsClosed)
            return;
        Exception failure = SocketFailure.For(error, "send");
        if (failure is not ConnectionResetException)
        {
            lock (_gate)
                _unexpected = failure;
        }
        _connection.Close(failure);
    }

    /// <summary>Sends the backlog whenever epoll says the socket is writable again, or until it is closed.</summary>
    private async Task DrainAsync()
    {
        do
            await Writable.WaitAsync();
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

    /// <summary>No more output: what was written is sent, then the FIN.</summary>
    public override void Complete(Exception? exception = null) => Complete(forClose: false);

    /// <summary>No more output, for the connection's close: what was written is sent, and the close sends the FIN.</summary>
    public void CompleteForClose() => Complete(forClose: true);

    private void Complete(bool forClose)
    {
        lock (_gate)
        {
            if (_completed)
                return;
            _completed = true;
            _completedForClose = forClose;
            _lent = false;
            if (_tail is not null)
                Commit();
            if (_sendOwned)
                return; // the drain ends it
            _sendOwned = true;
        }
        if (SendPending() == Progress.WouldBlock)
            _ = DrainAsync();
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
