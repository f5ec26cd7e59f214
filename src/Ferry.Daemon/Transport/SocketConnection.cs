using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Ferry.Daemon.Transport;

/// <summary>
/// One accepted TCP connection as a <see cref="ConnectionContext"/>: a receive loop that
/// fills the input pipe from the socket and a send loop that drains the output pipe into it,
/// both woken by an <see cref="EpollLoop"/> and making plain non-blocking calls.
/// </summary>
/// <remarks>
/// Why ferryd has its own transport instead of Kestrel's (bench/RESULTS.md has the numbers):
/// Kestrel's receives at most one 4 KiB block per <c>recv</c>, which held bulk echo at 0.45×
/// of a C epoll server; the runtime's sockets try every read before waiting for it, one
/// <c>recv</c> that fails with EAGAIN per message in a ping-pong; and every send went through a
/// queue to another thread. Here a receive takes up to 64 KiB, the socket is
/// read only after epoll said it is readable, and a service's <c>FlushAsync</c> sends on the
/// service's own thread.
/// <para>
/// Memory: an idle connection holds no buffer; the pipes rent a block when data arrives and
/// give it back once the service has consumed it.
/// </para>
/// <para>
/// Ending, as Kestrel's transport does it, which the services rely on: when the service
/// completes its output (or the connection is disposed) the send loop sends what is left,
/// then shuts the socket down both ways and closes it; a peer's FIN completes the input while
/// output can go on (half-close); a reset completes the input with
/// <see cref="ConnectionResetException"/>; <see cref="Abort"/> closes the socket at once and
/// the service's next read throws <see cref="ConnectionAbortedException"/>.
/// </para>
/// </remarks>
internal sealed class SocketConnection : ConnectionContext
{
    /// <summary>Receive this much at once at most (bulk), into <see cref="ReceiveScratch"/>.</summary>
    private const int ReceiveSize = 64 * 1024;

    /// <summary>
    /// Where the first receive after each epoll edge lands before it is copied into the input
    /// pipe, one per thread. Why not straight into pipe memory: a pipe block asked for is held
    /// until something is written into it, and a receive may find nothing (a stale edge), which
    /// would leave an idle connection holding 64 KiB. Reads that follow a full one ask the
    /// kernel how much it holds (FIONREAD) and then go straight into pipe memory: bulk
    /// transfers are not copied twice.
    /// </summary>
    [ThreadStatic]
    private static byte[]? s_receiveScratch;

    private static byte[] ReceiveScratch => s_receiveScratch ??= GC.AllocateUninitializedArray<byte>(ReceiveSize, pinned: true);

    /// <summary>Input the service has not read yet that stops receiving (backpressure), and resumes it.</summary>
    private const long InputPauseBytes = 1024 * 1024, InputResumeBytes = 512 * 1024;

    /// <summary>Output not yet sent at which the service's <c>FlushAsync</c> waits, and resumes.</summary>
    private const long OutputPauseBytes = 64 * 1024, OutputResumeBytes = 32 * 1024;

    /// <summary>
    /// Bytes a loop moves without ever waiting before it steps off the thread it runs on (to
    /// the thread pool): a client that streams as fast as loopback allows must not keep the
    /// epoll thread, and every other connection on it, to itself.
    /// </summary>
    private const long FairShareBytes = 1024 * 1024;

    private static long s_lastId;
    private static int s_lastGeneration;

    private readonly Socket _socket;
    private readonly EpollLoop _loop;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private IFeatureCollection? _features;
    private IDictionary<object, object?>? _items;
    private EndPoint? _localEndPoint;
    private volatile ConnectionAbortedException? _abortReason;
    private volatile Exception? _sendFailure;
    private int _socketClosed;
    private volatile bool _peerHungUp;
    private Task _running = Task.CompletedTask;

    /// <param name="socket">An accepted, connected socket; this connection owns it from now on.</param>
    /// <param name="loop">The epoll thread that reports this socket's readiness.</param>
    /// <param name="pool">Where the pipes take their blocks.</param>
    /// <param name="serviceScheduler">
    /// Where the service's reads resume: <see cref="PipeScheduler.Inline"/> runs the service on
    /// the epoll thread that received the data (no hop; only for services that never block),
    /// <see cref="PipeScheduler.ThreadPool"/> otherwise.
    /// </param>
    public SocketConnection(Socket socket, EpollLoop loop, MemoryPool<byte> pool, PipeScheduler serviceScheduler)
    {
        _socket = socket;
        _loop = loop;
        Handle = socket.SafeHandle;
        Generation = (uint)Interlocked.Increment(ref s_lastGeneration);
        ConnectionId = Interlocked.Increment(ref s_lastId).ToString("x");
        RemoteEndPoint = socket.RemoteEndPoint;
        // The receive loop resumes where the service freed space; the send loop runs where the
        // service flushed. Both only ever make non-blocking calls.
        _input = new Pipe(new PipeOptions(pool, readerScheduler: serviceScheduler, writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: InputPauseBytes, resumeWriterThreshold: InputResumeBytes, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(pool, readerScheduler: PipeScheduler.Inline, writerScheduler: serviceScheduler,
            pauseWriterThreshold: OutputPauseBytes, resumeWriterThreshold: OutputResumeBytes, useSynchronizationContext: false));
        Transport = new DuplexPipe(_input.Reader, _output.Writer);
    }

    public SafeSocketHandle Handle { get; }

    /// <summary>Tells this connection's epoll events from those of an earlier one in the same slot.</summary>
    public uint Generation { get; }

    /// <summary>Where <see cref="EpollLoop"/> keeps this connection.</summary>
    public int Slot { get; set; }

    public ReadinessSignal Readable { get; } = new();

    public ReadinessSignal Writable { get; } = new();

    /// <summary>
    /// Epoll saw the peer's FIN (or a reset or error). The FIN is not in the data: a read that
    /// returned the last bytes does not say it came too, only the next read returns 0. So
    /// from now on the receive loop reads until the kernel says EOF or EAGAIN.
    /// </summary>
    public void PeerHungUp() => _peerHungUp = true;

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

    /// <summary>Makes the socket non-blocking, registers it with its epoll loop and starts both loops.</summary>
    public void Start()
    {
        _socket.Blocking = false;
        _loop.Register(this);
        _running = RunAsync();
    }

    private async Task RunAsync()
    {
        Task receiving = ReceiveLoopAsync();
        Task sending = SendLoopAsync();
        await receiving;
        await sending;
        _loop.Unregister(this);
    }

    private async Task ReceiveLoopAsync()
    {
        var writer = _input.Writer;
        Exception? failure = null;
        try
        {
            while (true)
            {
                await Readable.WaitAsync();
                // Edge-triggered: read until the kernel has nothing more. A read that did not
                // fill its buffer took everything there was; after a full one, the kernel says
                // how much is left. Anything that comes later is a new edge.
                long unbroken = 0;
                int waiting = 0;
                while (true)
                {
                    if (unbroken >= FairShareBytes)
                    {
                        unbroken = 0;
                        await Task.Yield();
                    }
                    if (IsSocketClosed)
                        throw new ObjectDisposedException(nameof(SocketConnection));
                    int requested, received, error;
                    if (waiting > 0)
                    {
                        // The kernel said how much it holds: straight into pipe memory, no copy.
                        Memory<byte> memory = writer.GetMemory(Math.Min(waiting, ReceiveSize));
                        requested = Math.Min(memory.Length, ReceiveSize);
                        received = Receive(memory.Span[..requested], out error);
                        if (received > 0)
                            writer.Advance(received);
                    }
                    else
                    {
                        // Fetched after every await: the loop may have moved to another thread.
                        byte[] scratch = ReceiveScratch;
                        requested = scratch.Length;
                        received = Receive(scratch, out error);
                        if (received > 0)
                            writer.Write(scratch.AsSpan(0, received));
                    }
                    if (received < 0)
                    {
                        if (error == LinuxCalls.ErrorWouldBlock)
                            break;
                        throw LinuxCalls.Failure(error, "recv");
                    }
                    if (received == 0)
                        return; // the peer's FIN: its half is done, ours may go on
                    unbroken += received;
                    FlushResult flush = await writer.FlushAsync();
                    if (flush.IsCompleted || flush.IsCanceled)
                        return; // the service stopped reading
                    waiting = received < requested ? 0 : ReadableBytes();
                    if (waiting == 0 && !_peerHungUp)
                        break;
                }
            }
        }
        catch (ObjectDisposedException) when (IsSocketClosed)
        {
            // Closed under us: by Abort, or by the send loop once output ended.
            failure = _sendFailure ?? new ConnectionAbortedException("the connection was closed");
        }
        catch (IOException ex)
        {
            failure = ex;
        }
        finally
        {
            writer.Complete(_abortReason ?? failure);
        }
    }

    /// <summary>Bytes received by the kernel and not read yet; 0 when it cannot say.</summary>
    private unsafe int ReadableBytes()
    {
        int count = 0;
        return LinuxCalls.ReadableBytes(Handle, LinuxCalls.ReadableBytesRequest, &count) == 0 ? count : 0;
    }

    private unsafe int Receive(Span<byte> buffer, out int error)
    {
        fixed (byte* start = buffer)
        {
            while (true)
            {
                nint received = LinuxCalls.Receive(Handle, start, buffer.Length, 0);
                error = received < 0 ? LinuxCalls.LastError : 0;
                if (received >= 0 || error != LinuxCalls.ErrorInterrupted)
                    return (int)received;
            }
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        Exception? unexpected = null;
        try
        {
            long unbroken = 0;
            while (true)
            {
                ValueTask<ReadResult> reading = reader.ReadAsync();
                if (!reading.IsCompleted)
                    unbroken = 0;
                else if (unbroken >= FairShareBytes)
                {
                    unbroken = 0;
                    await Task.Yield();
                }
                ReadResult read = await reading;
                if (read.IsCanceled)
                    break; // Abort
                ReadOnlySequence<byte> buffer = read.Buffer;
                foreach (ReadOnlyMemory<byte> segment in buffer)
                {
                    for (int sent = 0; sent < segment.Length;)
                    {
                        if (IsSocketClosed)
                            throw new ObjectDisposedException(nameof(SocketConnection));
                        int n = Send(segment.Span[sent..], out int error);
                        if (n >= 0)
                        {
                            sent += n;
                            unbroken += n;
                        }
                        else if (error == LinuxCalls.ErrorWouldBlock)
                        {
                            unbroken = 0;
                            await Writable.WaitAsync(); // the peer is not reading fast enough
                        }
                        else
                            throw LinuxCalls.Failure(error, "send");
                    }
                }
                reader.AdvanceTo(buffer.End);
                if (read.IsCompleted)
                    break;
            }
        }
        catch (ConnectionResetException ex)
        {
            // The peer is gone: the service's next flush says the output is complete.
            _sendFailure = ex;
        }
        catch (ObjectDisposedException) when (IsSocketClosed)
        {
        }
        catch (Exception ex)
        {
            unexpected = ex;
        }
        finally
        {
            CloseSocket();
            reader.Complete(unexpected);
            // A receive loop paused on a full input pipe must not wait for a reader that left.
            _input.Writer.CancelPendingFlush();
        }
    }

    private unsafe int Send(ReadOnlySpan<byte> data, out int error)
    {
        fixed (byte* start = data)
        {
            while (true)
            {
                nint sent = LinuxCalls.Send(Handle, start, data.Length, LinuxCalls.NoSignal);
                error = sent < 0 ? LinuxCalls.LastError : 0;
                if (sent >= 0 || error != LinuxCalls.ErrorInterrupted)
                    return (int)sent;
            }
        }
    }

    private bool IsSocketClosed => Volatile.Read(ref _socketClosed) == 1;

    /// <summary>
    /// FIN after the last byte sent (as far as the peer still reads), then the descriptor is
    /// released; both loops are woken to see it. Closing removes the socket from the epoll set.
    /// </summary>
    private void CloseSocket()
    {
        if (Interlocked.Exchange(ref _socketClosed, 1) == 1)
            return;
        try
        {
            // Through the Socket, not a raw call: the runtime then knows the close is graceful
            // and does not turn it into a reset if another thread is inside a call right now.
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer.
        }
        _socket.Dispose();
        Readable.Signal();
        Writable.Signal();
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        _abortReason ??= abortReason;
        CloseSocket();
        _output.Reader.CancelPendingRead();
    }

    /// <summary>Sends what the service wrote, closes the socket, and waits for both loops.</summary>
    public override async ValueTask DisposeAsync()
    {
        _input.Reader.Complete();
        _output.Writer.Complete();
        await _running;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
