using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Ferry.Platform.Linux;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Ferry.Daemon.Transport;

/// <summary>
/// One accepted TCP connection as a <see cref="ConnectionContext"/>: its input is a
/// <see cref="SocketReader"/> and its output a <see cref="SocketWriter"/>, which receive and send
/// on the service's own thread with plain non-blocking calls, woken by an <see cref="EpollLoop"/>.
/// </summary>
/// <remarks>
/// Ownership: the connection owns the socket and whether it is closed (and why); it tells the
/// reader and the writer when it closes, never the other way round. The reader owns what it has
/// received and how its input ended; the writer owns what is unsent and the send path.
/// <para>
/// Why ferryd has its own transport instead of Kestrel's (bench/RESULTS.md has the numbers):
/// Kestrel's receives at most one 4 KiB block per <c>recv</c>, which held bulk echo at 0.45×
/// of a C epoll server; the runtime's sockets try every read before waiting for it, one
/// <c>recv</c> that fails with EAGAIN per message in a ping-pong; and every send went through a
/// queue to another thread. Here a receive takes up to 64 KiB, the socket is read only after
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
internal sealed class SocketConnection : ConnectionContext, IByteCounts
{
    private static long s_lastId;
    private static int s_lastGeneration;

    private readonly Socket _socket;
    private readonly EpollLoop _loop;
    private IFeatureCollection? _features;
    private IDictionary<object, object?>? _items;
    private EndPoint? _localEndPoint;
    private Exception? _closedBecause;
    private int _closed;

    /// <param name="socket">An accepted, connected socket; this connection owns it from now on.</param>
    /// <param name="loop">The epoll thread that reports this socket's readiness.</param>
    /// <param name="pool">Where input and output take their blocks.</param>
    /// <param name="serviceScheduler">
    /// Where the service resumes after waiting for input: <see cref="PipeScheduler.Inline"/> on
    /// the epoll thread that saw the data (no hop; only for services that never block), anything
    /// else on the thread pool.
    /// </param>
    public SocketConnection(Socket socket, EpollLoop loop, MemoryPool<byte> pool, PipeScheduler serviceScheduler)
    {
        _socket = socket;
        _loop = loop;
        Handle = socket.SafeHandle;
        Generation = (uint)Interlocked.Increment(ref s_lastGeneration);
        ConnectionId = Interlocked.Increment(ref s_lastId).ToString("x");
        RemoteEndPoint = socket.RemoteEndPoint;
        Reader = new SocketReader(this, pool, resumeOnThreadPool: serviceScheduler != PipeScheduler.Inline);
        Writer = new SocketWriter(this, pool);
        Transport = new DuplexPipe(Reader, Writer);
    }

    public SafeSocketHandle Handle { get; }

    public SocketReader Reader { get; }

    public SocketWriter Writer { get; }

    /// <summary>Tells this connection's epoll events from those of an earlier one in the same slot.</summary>
    public uint Generation { get; }

    /// <summary>Where <see cref="EpollLoop"/> keeps this connection.</summary>
    public int Slot { get; set; }

    /// <summary>Bytes received from the peer so far (what the kernel gave us, whether consumed or not).</summary>
    public long BytesReceived => Reader.BytesReceived;

    /// <summary>Bytes handed to the kernel for the peer so far.</summary>
    public long BytesSent => Writer.BytesSent;

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features => _features ??= new FeatureCollection();

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    /// <summary>Asked for rarely (a system call): only when someone wants it.</summary>
    public override EndPoint? LocalEndPoint
    {
        get => _localEndPoint ??= _socket.LocalEndPoint;
        set => _localEndPoint = value;
    }

    /// <summary>Makes the socket non-blocking and registers it with its epoll loop.</summary>
    public void Start()
    {
        _socket.Blocking = false;
        _loop.Register(this);
    }

    public bool IsClosed => Volatile.Read(ref _closed) == 1;

    /// <summary>Why the socket was closed: what reading it throws from then on.</summary>
    public Exception ClosedBecause =>
        Volatile.Read(ref _closedBecause) ?? new ConnectionAbortedException("the connection was closed");

    /// <summary>Bytes received by the kernel and not read yet; 0 when it cannot say.</summary>
    public unsafe int ReadableBytes()
    {
        int count = 0;
        try
        {
            return SocketCalls.ReadableBytes(Handle, SocketCalls.ReadableBytesRequest, &count) == 0 ? count : 0;
        }
        catch (ObjectDisposedException)
        {
            return 0; // closed under us
        }
    }

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

    /// <summary><c>recv</c> or <c>send</c>, retried when a signal interrupts it.</summary>
    private unsafe int Transfer(delegate*<SafeSocketHandle, byte*, nint, int, nint> call, byte* start, int length, int flags, out int error)
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

    /// <summary>How long a closing connection keeps reading (and dropping) what the peer still sends, at most.</summary>
    public static readonly TimeSpan LingerLimit = TimeSpan.FromSeconds(2);

    /// <summary>Our FIN, after everything sent: the peer reads to the end of what we sent, then end of stream.</summary>
    public void FinishSending()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Reset by the peer, or closed under us: nothing more to finish.
        }
    }

    /// <summary>
    /// Closes the socket (FIN after what was sent, as far as the peer still reads) and tells the
    /// reader and the writer, which wake whoever waits on them to see it. The first reason given
    /// is the one reads report; null: a graceful end. Closing removes the socket from the epoll set.
    /// </summary>
    public void Close(Exception? reason) => Close(reason, reset: false);

    /// <summary>
    /// Ends the connection with a reset (RST) instead of a FIN, dropping whatever is unsent: the
    /// peer can tell it was cut off (a slow consumer) from an ordinary end.
    /// </summary>
    public void Reset(ConnectionAbortedException reason) => Close(reason, reset: true);

    private void Close(Exception? reason, bool reset)
    {
        if (reason is not null)
            Interlocked.CompareExchange(ref _closedBecause, reason, null);
        if (Interlocked.Exchange(ref _closed, 1) == 1)
            return;
        try
        {
            if (reset)
                _socket.LingerState = new LingerOption(enable: true, seconds: 0);
            else
                // Through the Socket, not a raw call: the runtime then knows the close is graceful
                // and does not turn it into a reset if another thread is inside a call right now.
                _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer.
        }
        _socket.Dispose();
        Reader.OnClosed();
        Writer.OnClosed();
    }

    public override void Abort(ConnectionAbortedException abortReason) => Close(abortReason);

    /// <summary>
    /// Sends what the service wrote and a FIN, lets the peer finish (a lingering close: what it
    /// still sends is read and dropped until its FIN, for at most <see cref="LingerLimit"/>),
    /// closes the socket, and forgets the connection.
    /// </summary>
    public override async ValueTask DisposeAsync()
    {
        Reader.Complete();
        Writer.Complete();
        await Writer.Ended;
        if (!IsClosed && !Reader.PeerFinished)
            await Reader.DiscardUntilPeerFinishesAsync(LingerLimit);
        Close(null);
        _loop.Unregister(this);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
