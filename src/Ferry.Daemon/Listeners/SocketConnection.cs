using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One accepted TCP connection as a <see cref="ConnectionContext"/>: a receive loop that
/// fills the input pipe from the socket and a send loop that drains the output pipe into it.
/// </summary>
/// <remarks>
/// Why ferryd has its own instead of Kestrel's socket transport (bench/RESULTS.md has the
/// numbers): Kestrel receives at most one 4 KiB pool block per <c>recv</c>, which capped bulk
/// echo at about 0.45× of a C server; here a receive takes a 64 KiB block. And the send loop
/// runs inline: a service's <c>FlushAsync</c> sends on the service's own thread instead of
/// queueing the send to another one.
/// <para>
/// Memory: an idle connection holds no buffer. The receive loop first waits for the socket to
/// become readable with a zero-byte receive and rents a block only when data is there; the
/// pipes give blocks back once the service has consumed them.
/// </para>
/// <para>
/// Ending, as Kestrel's transport does it, which services and tests rely on: when the
/// service completes its output (or the connection is disposed) the send loop sends what is
/// left, then shuts the socket down both ways and closes it; a peer's FIN completes the
/// input while output can go on (half-close); a reset completes the input with
/// <see cref="ConnectionResetException"/>; <see cref="Abort"/> closes the socket at once and
/// the service's next read throws <see cref="ConnectionAbortedException"/>.
/// </para>
/// </remarks>
internal sealed class SocketConnection : ConnectionContext
{
    /// <summary>Receive this much at once when data keeps coming (bulk); it is also the block size.</summary>
    private const int LargeReceive = BlockPool.DefaultBlockSize;

    /// <summary>Input the service has not read yet that stops receiving (backpressure), and resumes it.</summary>
    private const long InputPauseBytes = 1024 * 1024, InputResumeBytes = 512 * 1024;

    /// <summary>Output not yet sent at which the service's <c>FlushAsync</c> waits, and resumes.</summary>
    private const long OutputPauseBytes = 64 * 1024, OutputResumeBytes = 32 * 1024;

    private static long s_lastId;

    private readonly Socket _socket;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private IFeatureCollection? _features;
    private IDictionary<object, object?>? _items;
    private volatile ConnectionAbortedException? _abortReason;
    private Exception? _sendFailure;
    private int _socketClosed;
    private Task _running = Task.CompletedTask;

    /// <param name="socket">An accepted, connected socket; this connection owns it from now on.</param>
    /// <param name="pool">Where the pipes take their blocks.</param>
    /// <param name="serviceScheduler">
    /// Where the service's reads resume: <see cref="PipeScheduler.Inline"/> runs the service on
    /// the thread that received the data (no hop; only for services that never block),
    /// <see cref="PipeScheduler.ThreadPool"/> otherwise.
    /// </param>
    public SocketConnection(Socket socket, MemoryPool<byte> pool, PipeScheduler serviceScheduler)
    {
        _socket = socket;
        ConnectionId = Interlocked.Increment(ref s_lastId).ToString("x");
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        // The receive loop resumes where the service freed space; the send loop runs where the
        // service flushed. Both loops only ever issue non-blocking socket calls.
        _input = new Pipe(new PipeOptions(pool, readerScheduler: serviceScheduler, writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: InputPauseBytes, resumeWriterThreshold: InputResumeBytes, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(pool, readerScheduler: PipeScheduler.Inline, writerScheduler: serviceScheduler,
            pauseWriterThreshold: OutputPauseBytes, resumeWriterThreshold: OutputResumeBytes, useSynchronizationContext: false));
        Transport = new DuplexPipe(_input.Reader, _output.Writer);
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features => _features ??= new FeatureCollection();

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    /// <summary>Starts both loops. The receive loop's first wait is for data, so nothing is read yet.</summary>
    public void Start() => _running = RunAsync();

    private async Task RunAsync()
    {
        Task receiving = ReceiveLoopAsync();
        Task sending = SendLoopAsync();
        await receiving;
        await sending;
    }

    private async Task ReceiveLoopAsync()
    {
        var writer = _input.Writer;
        Exception? failure = null;
        try
        {
            bool dataWaiting = false;
            while (true)
            {
                if (!dataWaiting)
                {
                    // Wait for data without holding a buffer: idle connections cost no block.
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                }
                Memory<byte> buffer = writer.GetMemory(LargeReceive);
                int received = await _socket.ReceiveAsync(buffer, SocketFlags.None);
                if (received == 0)
                    break; // the peer's FIN: its half is done, ours may go on
                writer.Advance(received);
                // A full buffer says more is probably queued; receive again before waiting.
                dataWaiting = received == buffer.Length;
                FlushResult flush = await writer.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled)
                    break; // the service stopped reading
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset)
        {
            failure = new ConnectionResetException(ex.Message, ex);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException && IsSocketClosed)
        {
            // Closed under the pending receive: by Abort, or by the send loop once output ended.
            failure = _abortReason ?? _sendFailure ?? new ConnectionAbortedException("the connection was closed");
        }
        catch (Exception ex)
        {
            failure = new IOException(ex.Message, ex);
        }
        finally
        {
            writer.Complete(_abortReason ?? failure);
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        Exception? unexpected = null;
        try
        {
            while (true)
            {
                ReadResult read = await reader.ReadAsync();
                if (read.IsCanceled)
                    break; // Abort
                ReadOnlySequence<byte> buffer = read.Buffer;
                foreach (ReadOnlyMemory<byte> segment in buffer)
                    await _socket.SendAsync(segment, SocketFlags.None);
                reader.AdvanceTo(buffer.End);
                if (read.IsCompleted)
                    break;
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown
            or SocketError.ConnectionAborted or SocketError.OperationAborted)
        {
            // The peer is gone (or we closed): the service's next flush says the output is complete.
            _sendFailure = new ConnectionResetException(ex.Message, ex);
        }
        catch (ObjectDisposedException)
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

    private bool IsSocketClosed => Volatile.Read(ref _socketClosed) == 1;

    /// <summary>FIN after the last byte sent (as far as the peer still reads), then the descriptor is released.</summary>
    private void CloseSocket()
    {
        if (Interlocked.Exchange(ref _socketClosed, 1) == 1)
            return;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer.
        }
        _socket.Dispose();
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
