using Ferry.Platform.Linux;
using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace Ferry.Daemon.Transport;

/// <summary>
/// The input of a <see cref="SocketConnection"/>: a <see cref="PipeReader"/> that receives from
/// the socket itself, when the service asks for more and epoll has said there is something to
/// read. There is no pipe and no receive loop between the socket and the service: a message
/// costs one <c>recv</c> and one resumption of the service, on the thread epoll woke.
/// </summary>
/// <remarks>
/// Backpressure is the kernel's: a service that does not read leaves the data in the socket's
/// receive buffer, TCP's window closes, and the client's send blocks. Received data the service
/// has not consumed is held in pool blocks (at most <see cref="BufferLimitBytes"/>), and given back
/// once consumed, so an idle connection holds none.
/// <para>
/// One reader at a time, as for any <see cref="PipeReader"/>; <see cref="CancelPendingRead"/> and
/// the closing of the socket may come from any thread.
/// </para>
/// </remarks>
internal sealed class SocketReader : PipeReader, IValueTaskSource<ReadResult>
{
    /// <summary>Receive this much at once at most (<see cref="ReceiveScratch.Size"/>).</summary>
    public const int ReceiveSize = ReceiveScratch.Size;

    /// <summary>
    /// Unconsumed input at which receiving stops until the service consumes some: a service that
    /// examines without consuming (a line longer than it allows) must not make ferryd buffer
    /// without end.
    /// </summary>
    public const long BufferLimitBytes = 1024 * 1024;

    private readonly SocketConnection _connection;
    private readonly MemoryPool<byte> _pool;
    private readonly bool _resumeOnThreadPool;

    // Unconsumed input: segments from _head (from _headStart) to _tail (to its End).
    private Segment? _head;
    private int _headStart;
    private Segment? _tail;
    private Segment? _spare;
    private bool _unexamined;

    /// <summary>The socket had nothing more at the last receive: wait for epoll before the next.</summary>
    private bool _drained;

    /// <summary>The last receive filled what it was given: receive straight into a block, and again before waiting for epoll.</summary>
    private bool _bulk;

    private Exception? _failure;
    private bool _completed;
    private volatile bool _cancelRequested;
    private long _unbroken;

    // The read in progress that had to wait: its completion, its token, and the token's registration.
    private ManualResetValueTaskSourceCore<ReadResult> _pending;
    private CancellationToken _readCancellation;
    private CancellationTokenRegistration _registration;

    /// <param name="resumeOnThreadPool">
    /// True for services that may block: after a wait, the service resumes on the thread pool
    /// instead of the epoll thread that signalled.
    /// </param>
    public SocketReader(SocketConnection connection, MemoryPool<byte> pool, bool resumeOnThreadPool)
    {
        _connection = connection;
        _pool = pool;
        _resumeOnThreadPool = resumeOnThreadPool;
    }

    /// <summary>"Readable now": the connection's, from the epoll thread (or a close, or a cancellation) to the waiting read.</summary>
    private ReadinessSignal Readable => _connection.Readable;

    private bool PeerFinished => _connection.PeerFinished;

    /// <summary>Nothing received and not yet consumed: a relay may take the socket over.</summary>
    public bool IsEmpty => Buffered == 0;

    private long Buffered => _head is null ? 0 : _tail!.RunningIndex + _tail.End - (_head.RunningIndex + _headStart);

    private ReadOnlySequence<byte> Buffer => _head is null
        ? ReadOnlySequence<byte>.Empty
        : new ReadOnlySequence<byte>(_head, _headStart, _tail!, _tail!.End);

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (TryReadBuffered(out ReadResult result))
            return new ValueTask<ReadResult>(result);
        return ReadFromSocket(cancellationToken);
    }

    public override bool TryRead(out ReadResult result)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (TryReadBuffered(out result))
            return true;
        // Whatever the kernel already holds counts as buffered, as it would in a pipe filled
        // eagerly: a drained socket has more only if epoll has signalled since.
        if (_drained && Readable.TryConsume())
            _drained = false;
        if (!_drained && !_connection.IsClosed && Buffered < BufferLimitBytes && ReceiveOnce() >= 0)
        {
            result = new ReadResult(Buffer, false, PeerFinished);
            return true;
        }
        result = default;
        return false;
    }

    /// <summary>Data the service has not examined, a cancellation, the end, or a failure to throw.</summary>
    private bool TryReadBuffered(out ReadResult result)
    {
        if (_cancelRequested)
        {
            _cancelRequested = false;
            result = new ReadResult(Buffer, isCanceled: true, isCompleted: false);
            return true;
        }
        if (_failure is not null)
            throw _failure;
        if (_unexamined || PeerFinished)
        {
            result = new ReadResult(Buffer, isCanceled: false, isCompleted: PeerFinished);
            return true;
        }
        result = default;
        return false;
    }

    /// <summary>
    /// A read the buffer cannot answer: receives, and when the socket is drained waits for epoll
    /// without an async state machine. The reader is its own <see cref="IValueTaskSource{TResult}"/>
    /// (one read at a time, as for any <see cref="PipeReader"/>), so an idle connection's pending
    /// read costs no object, and a wait is resumed straight from the <see cref="Readable"/> signal.
    /// </summary>
    private ValueTask<ReadResult> ReadFromSocket(CancellationToken cancellationToken)
    {
        _pending.Reset();
        _pending.RunContinuationsAsynchronously = _resumeOnThreadPool;
        _readCancellation = cancellationToken;
        try
        {
            if (TryStep(out ReadResult result))
            {
                EndRead();
                return new ValueTask<ReadResult>(result);
            }
        }
        catch (Exception ex)
        {
            EndRead();
            // As the awaited path reports it: a cancellation is a canceled read, anything else a failed one.
            return ex is OperationCanceledException { CancellationToken.IsCancellationRequested: true } canceled
                ? ValueTask.FromCanceled<ReadResult>(canceled.CancellationToken)
                : ValueTask.FromException<ReadResult>(ex);
        }
        return new ValueTask<ReadResult>(this, _pending.Version);
    }

    /// <summary>
    /// Goes on with the read until it has a result (true), or has arranged to be called again
    /// (false): by the <see cref="Readable"/> signal, or after the others on the loop had their turn.
    /// </summary>
    private bool TryStep(out ReadResult result)
    {
        while (true)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            _readCancellation.ThrowIfCancellationRequested();
            if (TryReadBuffered(out result))
                return true;
            if (_connection.IsClosed)
                throw _failure = _connection.ClosedBecause;
            if (!_drained && Buffered < BufferLimitBytes)
            {
                if (_unbroken >= FairShare.Bytes)
                {
                    // A client that streams as fast as loopback allows must not keep the epoll
                    // thread, and every other connection on it, to itself.
                    _unbroken = 0;
                    EpollLoop.Later(static reader => ((SocketReader)reader!).Resume(afterWait: false), this);
                    return false;
                }
                if (ReceiveOnce() >= 0)
                {
                    result = new ReadResult(Buffer, isCanceled: false, isCompleted: PeerFinished);
                    return true;
                }
                continue; // drained
            }
            if (_readCancellation.CanBeCanceled && _registration == default)
                _registration = _readCancellation.UnsafeRegister(static reader => ((SocketReader)reader!).Readable.Signal(), this);
            // An edge that came since the last receive needs no wait (and is no break in the stream).
            if (!Readable.TryConsume())
            {
                _unbroken = 0;
                ((IValueTaskSource)Readable).OnCompleted(static reader => ((SocketReader)reader!).Resume(afterWait: true), this, 0,
                    ValueTaskSourceOnCompletedFlags.None);
                return false;
            }
            _drained = false;
        }
    }

    /// <summary>The signal came (or the loop gave the read its turn again): go on, and complete the read if it is done.</summary>
    private void Resume(bool afterWait)
    {
        if (afterWait)
            _drained = false;
        ReadResult result;
        Exception? failure = null;
        try
        {
            if (!TryStep(out result))
                return;
        }
        catch (Exception ex)
        {
            failure = ex;
            result = default;
        }
        // Outside the try: completing may run the caller inline, and nothing of its must land in the catch.
        EndRead();
        if (failure is null)
            _pending.SetResult(result);
        else
            _pending.SetException(failure);
    }

    private void EndRead()
    {
        _registration.Dispose();
        _registration = default;
        _readCancellation = default;
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _pending.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _pending.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _pending.OnCompleted(continuation, state, token, flags);

    /// <summary>
    /// One <c>recv</c>: the number of bytes added (0 for the peer's FIN, which is remembered),
    /// or -1 when the socket had nothing (and is now known to be drained). Throws, and
    /// remembers, a failure of the connection.
    /// </summary>
    private int ReceiveOnce()
    {
        int requested, received, error;
        if (_bulk)
        {
            Memory<byte> memory = WritableTail(ReceiveSize);
            requested = Math.Min(memory.Length, ReceiveSize);
            received = _connection.Receive(memory.Span[..requested], out error);
            if (received > 0)
                Appended(received);
            else if (Buffered == 0)
                ReleaseAll(); // the block taken for it stays empty: an idle connection holds none
        }
        else
        {
            // While the peer sends small messages a receive lands in the thread's scratch buffer
            // first (an idle connection then never holds a block). Once a receive fills what it
            // was given, the peer is sending in bulk (_bulk) and receives go straight into block
            // memory, so bulk transfers are not copied twice.
            byte[] scratch = ReceiveScratch.ForThisThread;
            requested = scratch.Length;
            received = _connection.Receive(scratch, out error);
            if (received > 0)
                Append(scratch.AsSpan(0, received));
        }

        if (received < 0)
        {
            _bulk = false;
            if (error == Errno.WouldBlock)
            {
                _drained = true;
                return -1;
            }
            if (_connection.IsClosed)
                throw _failure = _connection.ClosedBecause;
            throw _failure = SocketFailure.For(error, "recv");
        }
        if (received == 0)
        {
            _connection.MarkPeerFinished(); // the peer's half is done; ours may go on
            return 0;
        }
        _unbroken += received;
        _connection.CountReceived(received);
        _unexamined = true;
        // Edge-triggered: a receive that did not fill its buffer took everything there was,
        // unless epoll saw the peer hang up (the FIN is returned only by the next receive).
        // After a full one there may be more: the next receive is tried before waiting.
        _bulk = received == requested;
        _drained = !_bulk && !_connection.PeerHungUp;
        return received;
    }

    /// <summary>Free space at the end of the input, at least <paramref name="atLeast"/> bytes (a new block if needed).</summary>
    private Memory<byte> WritableTail(int atLeast)
    {
        if (_tail is null || _tail.Capacity - _tail.End < Math.Max(1, Math.Min(atLeast, _tail.Capacity / 2)))
            AddSegment();
        return _tail!.Block[_tail.End..];
    }

    private void Appended(int count)
    {
        _tail!.SetEnd(_tail.End + count);
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            Memory<byte> space = WritableTail(data.Length);
            int count = Math.Min(space.Length, data.Length);
            data[..count].CopyTo(space.Span);
            Appended(count);
            data = data[count..];
        }
    }

    private void AddSegment()
    {
        Segment segment = _spare ?? new Segment();
        _spare = null;
        segment.Take(_pool.Rent(), _tail is null ? 0 : _tail.RunningIndex + _tail.End);
        if (_tail is null)
        {
            _head = segment;
            _headStart = 0;
        }
        else
            _tail.SetNext(segment);
        _tail = segment;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (_head is null)
            return; // nothing was read, so nothing can be consumed or examined
        if (consumed.GetObject() is Segment consumedSegment)
        {
            while (!ReferenceEquals(_head, consumedSegment))
            {
                Segment done = _head!;
                _head = done.NextSegment ?? throw new InvalidOperationException("consumed is not in the buffer last read");
                Release(done);
            }
            _headStart = consumed.GetInteger();
        }
        // Examined to the end: the next read waits for new data. Short of it: the next read
        // returns what is there at once.
        _unexamined = !(ReferenceEquals(examined.GetObject(), _tail) && examined.GetInteger() == _tail!.End);
        if (Buffered == 0)
        {
            // Everything consumed: an idle connection holds no block.
            ReleaseAll();
            _unexamined = false;
        }
    }

    private void Release(Segment segment)
    {
        segment.Return();
        _spare ??= segment;
    }

    /// <summary>Gives every block back (a receive that found nothing may have left an empty one at the end).</summary>
    private void ReleaseAll()
    {
        for (Segment? segment = _head; segment is not null;)
        {
            Segment? next = segment.NextSegment;
            Release(segment);
            segment = next;
        }
        _head = _tail = null;
        _headStart = 0;
    }

    public override void CancelPendingRead()
    {
        _cancelRequested = true;
        Readable.Signal();
    }

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
            return;
        _completed = true;
        ReleaseAll();
        _spare = null;
        // A read still waiting (completing the reader under it breaks the contract) ends instead of lingering.
        Readable.Signal();
    }

    /// <summary>One pool block of received data in the chain the service reads.</summary>
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        private IMemoryOwner<byte>? _owner;

        public Memory<byte> Block { get; private set; }

        public int Capacity => Block.Length;

        /// <summary>Bytes received into this block.</summary>
        public int End { get; private set; }

        public Segment? NextSegment => (Segment?)Next;

        public void Take(IMemoryOwner<byte> owner, long runningIndex)
        {
            _owner = owner;
            Block = owner.Memory;
            RunningIndex = runningIndex;
            SetEnd(0);
            Next = null;
        }

        public void SetEnd(int end)
        {
            End = end;
            Memory = Block[..end];
        }

        public void SetNext(Segment next) => Next = next;

        public void Return()
        {
            _owner?.Dispose();
            _owner = null;
            Block = default;
            Memory = default;
            Next = null;
            End = 0;
        }
    }
}
