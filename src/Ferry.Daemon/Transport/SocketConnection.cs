using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ferry.Platform.Linux;
using Ferry.Platform.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Ferry.Daemon.Transport;

/// <summary>
/// One accepted TCP connection as a <see cref="ConnectionContext"/>: its input is a
/// <see cref="SocketReader"/> and its output a <see cref="SocketWriter"/>, which receive and send
/// on the service's own thread with plain non-blocking calls, woken by an <see cref="EpollLoop"/>.
/// </summary>
/// <remarks>
/// Ownership: the connection owns the socket, whether it is closed (and why), its two readiness
/// signals and its byte counts; closing wakes whoever waits on a signal (the reader, the writer's
/// drain, a relay), never the other way round. The reader owns what it has received and not
/// consumed; the writer owns what is unsent and the send path; a <see cref="SocketRelay"/> that
/// moves the socket's bytes instead owns what it holds.
/// <para>
/// Why ferryd has its own transport instead of Kestrel's (bench/RESULTS.md has the numbers):
/// Kestrel's receives at most one 4 KiB block per <c>recv</c>, which held bulk echo at 0.45×
/// of a C epoll server; the runtime's sockets try every read before waiting for it, one
/// <c>recv</c> that fails with EAGAIN per message in a ping-pong; and every send went through a
/// queue to another thread. Here a receive takes up to 16 KiB, the socket is read only after
/// epoll said it is readable, and a service's <c>FlushAsync</c> sends on the service's own thread.
/// </para>
/// <para>
/// Ending, as Kestrel's transport does it, which the services rely on: when the service
/// completes its output (or the connection is disposed) what is left is sent, then a FIN, and
/// what the peer still sends is read and dropped until its own FIN (briefly: a lingering close,
/// as nginx does, so the close is never a reset that destroys the end of what we sent); a peer's
/// FIN completes the input while output can go on (half-close); a reset completes the input with <see cref="ConnectionResetException"/>;
/// <see cref="Abort"/> closes the socket at once and the service's next read throws
/// <see cref="ConnectionAbortedException"/>.
/// </para>
/// </remarks>
internal sealed class SocketConnection : ConnectionContext, IByteCounts, IEpollTarget
{
    private const uint Interest = Epoll.In | Epoll.Out | Epoll.PeerHangUp | Epoll.EdgeTriggered;
    private const uint ReadableEvents = Epoll.In | Epoll.PeerHangUp | Epoll.HangUp | Epoll.Error;
    private const uint HungUpEvents = Epoll.PeerHangUp | Epoll.HangUp | Epoll.Error;
    private const uint WritableEvents = Epoll.Out | Epoll.HangUp | Epoll.Error;

    private static long s_lastId;

    /// <summary>Only for a connection made from a runtime Socket: kept so nothing else finalizes its handle.</summary>
    private readonly Socket? _socket;
    private readonly EpollLoop _loop;
    private IFeatureCollection? _features;
    private IDictionary<object, object?>? _items;
    private EndPoint? _localEndPoint;
    private readonly MemoryPool<byte> _pool;
    private readonly bool _resumeOnThreadPool;
    private SocketReader? _reader;
    private SocketWriter? _writer;
    private long _received;
    private long _sent;
    private volatile bool _peerHungUp;
    private volatile bool _peerFinished;
    private Exception? _closedBecause;
    private Action<object?>? _closedCallback;
    private object? _closedCallbackState;
    private int _closed;
    private int _finishedSending;

    /// <summary>Where <see cref="EpollLoop"/> keeps this connection.</summary>
    private int _slot;

    /// <param name="accepted">A connection an <see cref="Acceptor"/> took; this connection owns its descriptor from now on and stays on its loop.</param>
    /// <param name="pool">Where input and output take their blocks.</param>
    /// <param name="serviceScheduler">
    /// Where the service resumes after waiting for input: <see cref="PipeScheduler.Inline"/> on
    /// the epoll thread that saw the data (no hop; only for services that never block), anything
    /// else on the thread pool.
    /// </param>
    public SocketConnection(AcceptedPeer accepted, MemoryPool<byte> pool, PipeScheduler serviceScheduler)
        : this(new SocketHandle(accepted.Descriptor), accepted.Peer, accepted.Loop, pool, serviceScheduler, null)
    {
    }

    /// <summary>A socket ferryd made itself, with no peer address (its end of a socketpair to an exec child); non-blocking, owned from now on.</summary>
    public SocketConnection(int descriptor, EpollLoop loop, MemoryPool<byte> pool, PipeScheduler serviceScheduler)
        : this(new SocketHandle(descriptor), null, loop, pool, serviceScheduler, null)
    {
    }

    /// <summary>A connection over a connected runtime <see cref="Socket"/> (one ferryd made, or a test's), made non-blocking.</summary>
    public SocketConnection(Socket socket, EpollLoop loop, MemoryPool<byte> pool, PipeScheduler serviceScheduler)
        : this(socket.SafeHandle, socket.RemoteEndPoint, loop, pool, serviceScheduler, socket)
    {
        socket.Blocking = false;
    }

    private SocketConnection(SafeHandle handle, EndPoint? remote, EpollLoop loop, MemoryPool<byte> pool,
        PipeScheduler serviceScheduler, Socket? socket)
    {
        _socket = socket;
        _loop = loop;
        Handle = handle;
        Id = Interlocked.Increment(ref s_lastId);
        RemoteEndPoint = remote;
        _pool = pool;
        _resumeOnThreadPool = serviceScheduler != PipeScheduler.Inline;
        Transport = new SocketPipes(this);
    }

    /// <summary>The loop this connection is registered with: where a service puts the sockets that go with it (forward's upstream, exec's program).</summary>
    public EpollLoop Loop => _loop;

    /// <summary>The socket: ferryd's own <see cref="SocketHandle"/>, or the runtime Socket's handle.</summary>
    public SafeHandle Handle { get; }

    /// <summary>
    /// The input as a <see cref="PipeReader"/>, made on first use: a connection whose bytes only
    /// pass through (<see cref="SocketRelay"/>) never has one.
    /// </summary>
    public SocketReader Reader =>
        _reader ?? Interlocked.CompareExchange(ref _reader, new SocketReader(this, _pool, _resumeOnThreadPool), null) ?? _reader;

    /// <summary>The output as a <see cref="PipeWriter"/>, made on first use, like <see cref="Reader"/>.</summary>
    public SocketWriter Writer =>
        _writer ?? Interlocked.CompareExchange(ref _writer, new SocketWriter(this, _pool), null) ?? _writer;

    /// <summary>Where the reader and the writer take their blocks.</summary>
    public MemoryPool<byte> Pool => _pool;

    /// <summary>Whether the service resumes on the thread pool rather than on the epoll thread that woke it.</summary>
    public bool ResumesOnThreadPool => _resumeOnThreadPool;

    /// <summary>
    /// Nothing received and unconsumed in the reader, nothing unsent in the writer: the socket's
    /// bytes may be moved by a <see cref="SocketRelay"/> from now on without losing or reordering any.
    /// </summary>
    public bool HoldsNothing => (_reader is null || _reader.IsEmpty) && (_writer is null || _writer.IsIdle);

    /// <summary>"Readable now", from the epoll thread (or the close, or a cancellation) to whoever reads: the reader or a relay.</summary>
    public ReadinessSignal Readable { get; } = new();

    /// <summary>"Writable now", from the epoll thread (or the close) to whoever sends what the socket refused.</summary>
    public ReadinessSignal Writable { get; } = new();

    /// <summary>
    /// Epoll saw the peer's FIN (or a reset or error). The FIN is not in the data: a receive that
    /// returned the last bytes does not say it came too, only the next one returns 0. So from then
    /// on whoever reads receives until the kernel says EOF or EAGAIN.
    /// </summary>
    public bool PeerHungUp => _peerHungUp;

    /// <summary>The peer's FIN has been read: it will send nothing more.</summary>
    public bool PeerFinished => _peerFinished;

    /// <summary>A receive returned 0: the peer's half is done (ours may go on).</summary>
    public void MarkPeerFinished() => _peerFinished = true;

    /// <summary>Bytes received from the peer so far (what the kernel gave us, whether consumed or not).</summary>
    public long BytesReceived => Volatile.Read(ref _received);

    /// <summary>Bytes handed to the kernel for the peer so far.</summary>
    public long BytesSent => Volatile.Read(ref _sent);

    /// <summary>Counts a receive. Only the one who reads calls it; other threads read the total.</summary>
    public void CountReceived(int count) => Volatile.Write(ref _received, _received + count);

    /// <summary>Counts a send. Only the one who sends calls it; other threads read the total.</summary>
    public void CountSent(int count) => Volatile.Write(ref _sent, _sent + count);

    /// <summary>The connection's number in this process; <see cref="ConnectionId"/> is it in hex, as log lines write it.</summary>
    public long Id { get; }

    // Made when first asked for: the log lines write the number itself.
    private string? _connectionId;

    public override string ConnectionId
    {
        get => _connectionId ??= Id.ToString("x");
        set => _connectionId = value;
    }

    public override IFeatureCollection Features => _features ??= new FeatureCollection();

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    /// <summary>Asked for rarely (a system call): only when someone wants it.</summary>
    public override unsafe EndPoint? LocalEndPoint
    {
        get
        {
            if (_localEndPoint is null && !IsClosed)
            {
                byte* address = stackalloc byte[SocketCalls.AddressCapacity];
                int length = SocketCalls.AddressCapacity;
                try
                {
                    if (SocketCalls.GetName(Handle, address, &length) == 0)
                        _localEndPoint = SocketAddressBytes.ToEndPoint(new ReadOnlySpan<byte>(address, length));
                }
                catch (ObjectDisposedException)
                {
                }
            }
            return _localEndPoint;
        }
        set => _localEndPoint = value;
    }

    /// <summary>Registers the socket with its epoll loop, edge-triggered, both directions.</summary>
    public void Start() => _slot = _loop.Register(this, Handle, Interest);

    /// <summary>What epoll reported, on the loop's thread: both directions may come at once.</summary>
    public void OnEvents(uint events, EpollLoop loop)
    {
        if ((events & WritableEvents) != 0)
            Writable.Signal();
        if ((events & ReadableEvents) != 0)
        {
            if ((events & HungUpEvents) != 0)
                _peerHungUp = true;
            Readable.Signal();
        }
    }

    public bool IsClosed => Volatile.Read(ref _closed) == 1;

    /// <summary>
    /// Calls <paramref name="callback"/> once the socket is closed, by anyone (a timeout, the
    /// shutdown deadline, a reset), on the closing thread, or at once if it is closed already:
    /// for whoever must react without reading (forward cuts the upstream). One callback per
    /// connection, and nothing allocated for it.
    /// </summary>
    public void WhenClosed(Action<object?> callback, object? state)
    {
        _closedCallbackState = state;
        Volatile.Write(ref _closedCallback, callback);
        if (IsClosed && Interlocked.Exchange(ref _closedCallback, null) is { } now)
            now(state);
    }

    /// <summary>
    /// Resets <paramref name="partner"/> (off the closing thread) once this socket is closed by
    /// anyone: a pair's other socket (forward's upstream, exec's program) whose direction may be
    /// waiting on it must wake. Undone by <see cref="ForgetWhenClosed"/>.
    /// </summary>
    public void ResetWhenClosed(SocketConnection partner) =>
        WhenClosed(static state => ThreadPool.UnsafeQueueUserWorkItem(
            static partner => partner.Reset(new ConnectionAbortedException("the client was closed")), (SocketConnection)state!, preferLocal: false),
            partner);

    /// <summary>The callback given to <see cref="WhenClosed"/> is no longer wanted.</summary>
    public void ForgetWhenClosed() => Volatile.Write(ref _closedCallback, null);

    /// <summary>Why the socket was closed: what reading it throws from then on.</summary>
    public Exception ClosedBecause =>
        Volatile.Read(ref _closedBecause) ?? new ConnectionAbortedException("the connection was closed");

    /// <summary>A non-blocking <c>recv</c>: bytes received, 0 at the peer's FIN, or -1 and the errno.</summary>
    public unsafe int Receive(Span<byte> buffer, out int error)
    {
        fixed (byte* start = buffer)
            return Transfer(&SocketCalls.Receive, start, buffer.Length, 0, out error);
    }

    /// <summary>A non-blocking <c>send</c>: bytes sent, or -1 and the errno.</summary>
    public unsafe int Send(ReadOnlySpan<byte> data, out int error)
    {
        fixed (byte* start = data)
            return Transfer(&SocketCalls.Send, start, data.Length, SocketCalls.NoSignal, out error);
    }

    /// <summary>A non-blocking <c>splice</c> from the socket into a pipe: bytes moved, 0 at the peer's FIN, or -1 and the errno.</summary>
    public unsafe int SpliceTo(int pipeWrite, int length, out int error) =>
        Transfer(&SpliceFromSocket, (byte*)(nint)pipeWrite, length, 0, out error);

    /// <summary>A non-blocking <c>splice</c> from a pipe into the socket: bytes moved, or -1 and the errno.</summary>
    public unsafe int SpliceFrom(int pipeRead, int length, out int error) =>
        Transfer(&SpliceToSocket, (byte*)(nint)pipeRead, length, 0, out error);

    // Shaped as recv and send are, so that Transfer serves them all: the "buffer" is the pipe's descriptor.
    private static unsafe nint SpliceFromSocket(SafeHandle socket, byte* pipe, nint length, int flags) =>
        PipeCalls.FromSocket(socket, null, (int)(nint)pipe, null, length, PipeCalls.MoveNonBlocking);

    private static unsafe nint SpliceToSocket(SafeHandle socket, byte* pipe, nint length, int flags) =>
        PipeCalls.ToSocket((int)(nint)pipe, null, socket, null, length, PipeCalls.MoveNonBlocking);

    /// <summary><c>recv</c>, <c>send</c> or <c>splice</c>, retried when a signal interrupts it.</summary>
    private unsafe int Transfer(delegate*<SafeHandle, byte*, nint, int, nint> call, byte* start, int length, int flags, out int error)
    {
        try
        {
            while (true)
            {
                nint transferred = call(Handle, start, length, flags);
                error = transferred < 0 ? Errno.Last : 0;
                if (transferred >= 0 || error != Errno.Interrupted)
                    return (int)transferred;
            }
        }
        catch (ObjectDisposedException)
        {
            // Closed by another thread: callers look at IsClosed.
            error = Errno.BadDescriptor;
            return -1;
        }
    }

    /// <summary>SO_ERROR: how a connect in progress ended (0: connected), or EBADF once the socket is closed.</summary>
    public int PendingError()
    {
        bool added = false;
        try
        {
            Handle.DangerousAddRef(ref added);
            return NonBlockingConnect.PendingError((int)Handle.DangerousGetHandle());
        }
        catch (ObjectDisposedException)
        {
            return Errno.BadDescriptor;
        }
        finally
        {
            if (added)
                Handle.DangerousRelease();
        }
    }

    /// <summary>How long a closing connection keeps reading (and dropping) what the peer still sends, at most.</summary>
    public static readonly TimeSpan LingerLimit = TimeSpan.FromSeconds(2);

    /// <summary>Our FIN, after everything sent: the peer reads to the end of what we sent, then end of stream.</summary>
    public void FinishSending()
    {
        if (Interlocked.Exchange(ref _finishedSending, 1) == 0)
            Shutdown(SocketShutdown.Send);
    }

    /// <summary>
    /// No more bytes in: reads return what is already received, then end of stream (and the
    /// peer's further writes fail). For a socket whose peer will not close it (exec's program
    /// gone, something it started still holding its end).
    /// </summary>
    public void StopReceiving()
    {
        try
        {
            SocketCalls.Shutdown(Handle, SocketCalls.ShutdownRead);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// shutdown(2), through the runtime Socket where there is one: it must know, or releasing its
    /// handle later closes abortively. Fails only if reset or closed: nothing more to shut down.
    /// </summary>
    private void Shutdown(SocketShutdown how)
    {
        try
        {
            if (_socket is not null)
                _socket.Shutdown(how);
            else
                SocketCalls.Shutdown(Handle, how == SocketShutdown.Send ? SocketCalls.ShutdownWrite : SocketCalls.ShutdownBoth);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Closes the socket (FIN after what was sent, as far as the peer still reads) and signals
    /// both readiness signals, so whoever waits on them wakes and sees it. The first reason given
    /// is the one reads report; null: a graceful end. Closing removes the socket from the epoll set.
    /// </summary>
    public void Close(Exception? reason) => Close(reason, reset: false);

    private void Close(Exception? reason, bool reset) => CloseSocket(reason, reset, quietly: false);

    /// <summary>
    /// Ends the connection with a reset (RST) instead of a FIN, dropping whatever is unsent: the
    /// peer can tell it was cut off (a slow consumer) from an ordinary end.
    /// </summary>
    public void Reset(ConnectionAbortedException reason) => Close(reason, reset: true);

    /// <param name="quietly">No other thread can be inside a call on the socket: no shutdown to wake one.</param>
    private unsafe void CloseSocket(Exception? reason, bool reset, bool quietly)
    {
        if (reason is not null)
            Interlocked.CompareExchange(ref _closedBecause, reason, null);
        if (Interlocked.Exchange(ref _closed, 1) == 1)
            return;
        try
        {
            if (reset)
            {
                // SO_LINGER with a zero timeout: the close sends RST, and drops what is unsent.
                long linger = 1; // struct linger { int l_onoff = 1; int l_linger = 0; }
                SocketCalls.SetOption(Handle, SocketCalls.SocketLevel, SocketCalls.Linger, &linger, sizeof(long));
            }
            else if (!quietly && Volatile.Read(ref _finishedSending) == 0)
            {
                // Both ways, before the descriptor goes: a thread inside recv or send right now
                // wakes with an error instead of going on with a socket that is closing.
                Shutdown(SocketShutdown.Both);
            }
        }
        catch (ObjectDisposedException)
        {
        }
        if (_socket is not null)
            _socket.Dispose();
        else
            Handle.Dispose();
        // Whoever waits on the socket wakes, sees it closed and ends.
        Readable.Signal();
        Writable.Signal();
        if (Interlocked.Exchange(ref _closedCallback, null) is { } callback)
            callback(_closedCallbackState);
    }

    public override void Abort(ConnectionAbortedException abortReason) => Close(abortReason);

    /// <summary>
    /// Sends what the service wrote and a FIN, lets the peer finish (a lingering close: what it
    /// still sends is read and dropped until its FIN, for at most <see cref="LingerLimit"/>),
    /// closes the socket, and forgets the connection.
    /// </summary>
    public override async ValueTask DisposeAsync()
    {
        _reader?.Complete();
        if (_writer is { } writer)
        {
            writer.CompleteForClose();
            await writer.Ended;
        }
        if (!IsClosed && !PeerFinished)
        {
            FinishSending();
            await DiscardUntilPeerFinishesAsync(LingerLimit);
        }
        // Nothing is inside a call on this socket any more: close(2) alone is the FIN.
        CloseSocket(null, reset: false, quietly: true);
        _loop.Forget(_slot, this);
    }

    /// <summary>
    /// After the service is done and our FIN is sent: reads and drops whatever the peer still
    /// sends until its FIN (or an error, or <paramref name="limit"/>), so closing the socket does not
    /// find unread data and turn into a reset that could destroy what we sent before it.
    /// </summary>
    private async Task DiscardUntilPeerFinishesAsync(TimeSpan limit)
    {
        // The deadline itself decides, not a clock read after a wake-up, which could run early.
        using var deadline = new CancellationTokenSource(limit);
        using var wake = deadline.Token.UnsafeRegister(static signal => ((ReadinessSignal)signal!).Signal(), Readable);
        long unbroken = 0;
        while (!IsClosed && !deadline.IsCancellationRequested)
        {
            int received = Receive(ReceiveScratch.ForThisThread, out int error);
            if (received == 0 || (received < 0 && error != Errno.WouldBlock))
                return;
            if (received > 0)
            {
                unbroken += received;
                if (unbroken >= FairShare.Bytes)
                {
                    unbroken = 0;
                    await EpollLoop.YieldAsync();
                }
                continue;
            }
            unbroken = 0;
            await Readable.WaitAsync();
        }
    }

    /// <summary>The connection's pipes, each made when first asked for.</summary>
    private sealed class SocketPipes(SocketConnection connection) : IDuplexPipe
    {
        public PipeReader Input => connection.Reader;

        public PipeWriter Output => connection.Writer;
    }
}
