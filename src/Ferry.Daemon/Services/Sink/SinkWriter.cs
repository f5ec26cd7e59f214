using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services.Sink;

/// <summary>
/// The only writer of a sink's file. Connections hand it whole lines through a bounded channel;
/// it formats them in arrival order into batches and appends each batch with one write, so lines
/// from different clients never interleave inside a line. When the disk is full or the file's
/// directory is gone it keeps the failed batch, tells the clients, and retries until the write
/// succeeds; meanwhile the full channel stops the connections from reading (TCP backpressure),
/// so nothing already read is dropped and memory stays bounded.
/// </summary>
internal sealed class SinkWriter : IAsyncDisposable
{
    /// <summary>Lines queued between the connections and the file, at most.</summary>
    public const int Capacity = 8192;

    private const int BatchBytes = 256 * 1024;
    private static readonly TimeSpan SyncInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PathCheckInterval = TimeSpan.FromSeconds(1);

    private readonly ISinkFile _file;
    private readonly SinkPrefix _prefix;
    private readonly SinkFsync _fsync;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _retryDelay;
    private readonly TimeSpan _giveUpAfter;
    private readonly Channel<SinkRecord> _records = Channel.CreateBounded<SinkRecord>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Task _loop;
    private int _reopenRequested;
    private long _linesWritten;
    private long _bytesWritten;
    private long _writeErrors;
    private long _closingSince;
    private volatile string? _failure;

    /// <param name="notify">Also told what <see cref="Notice"/> is told.</param>
    /// <param name="retryDelay">Pause between attempts while the file cannot be written.</param>
    /// <param name="giveUpAfter">At shutdown, how long a failing write is still retried before lines are counted lost.</param>
    public SinkWriter(ISinkFile file, SinkPrefix prefix, SinkFsync fsync, TimeProvider time, ILogger logger,
        Action<string>? notify = null, TimeSpan? retryDelay = null, TimeSpan? giveUpAfter = null)
    {
        _file = file;
        _prefix = prefix;
        _fsync = fsync;
        _time = time;
        _logger = logger;
        if (notify is not null)
            Notice += notify;
        _retryDelay = retryDelay ?? TimeSpan.FromSeconds(1);
        _giveUpAfter = giveUpAfter ?? TimeSpan.FromSeconds(3);
        _loop = Task.Run(RunAsync);
    }

    public long LinesWritten => Interlocked.Read(ref _linesWritten);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>Writes that failed (each retried), for the metrics.</summary>
    public long WriteErrors => Interlocked.Read(ref _writeErrors);

    public string Path => _file.Path;

    /// <summary>A line of text for every client of every listener writing this file: failure and recovery.</summary>
    public event Action<string>? Notice;

    /// <summary>Why the file cannot be written right now, or null when it can.</summary>
    public string? Failure => _failure;

    /// <summary>Waits while the channel is full: that wait is the backpressure on the client.</summary>
    public ValueTask AppendAsync(SinkRecord record, CancellationToken cancellationToken = default) =>
        _records.Writer.WriteAsync(record, cancellationToken);

    /// <summary>
    /// Completes once every line queued before this call has been written (or given up at shutdown).
    /// </summary>
    public async Task WrittenAsync(CancellationToken cancellationToken)
    {
        var written = await MarkAsync(cancellationToken);
        await written.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Queues a mark behind every line queued so far (waiting for room, like a line) and returns
    /// what completes once they are all written (and synced with fsync=always).
    /// </summary>
    public async ValueTask<Task> MarkAsync(CancellationToken cancellationToken = default)
    {
        var barrier = SinkRecord.Barrier();
        await _records.Writer.WriteAsync(barrier, cancellationToken);
        return barrier.Written!.Task;
    }

    /// <summary>Signal-safe: only sets a flag; the file is reopened before the next write.</summary>
    public void RequestReopen() => Interlocked.Exchange(ref _reopenRequested, 1);

    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _closingSince, _time.GetTimestamp());
        _records.Writer.TryComplete();
        await _loop;
        _file.Dispose();
    }

    private async Task RunAsync()
    {
        var reader = _records.Reader;
        var batch = new ArrayBufferWriter<byte>(BatchBytes + 8192);
        long lastSync = _time.GetTimestamp();
        long lastPathCheck = lastSync;
        bool unsynced = false;
        var barriers = new List<TaskCompletionSource>();
        while (true)
        {
            bool more;
            if (unsynced && _fsync == SinkFsync.EverySecond)
            {
                var due = SyncInterval - _time.GetElapsedTime(lastSync);
                if (due <= TimeSpan.Zero)
                {
                    Sync();
                    unsynced = false;
                    lastSync = _time.GetTimestamp();
                    continue;
                }
                using var wait = new CancellationTokenSource(due, _time);
                try
                {
                    more = await reader.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    continue;
                }
            }
            else
            {
                more = await reader.WaitToReadAsync();
            }
            if (!more)
                break;

            if (_time.GetElapsedTime(lastPathCheck) >= PathCheckInterval)
            {
                lastPathCheck = _time.GetTimestamp();
                if (!_file.IsStillAtPath())
                {
                    ServiceLog.SinkFileVanished(_logger, _file.Path);
                    CloseQuietly();
                }
            }
            if (Interlocked.Exchange(ref _reopenRequested, 0) == 1)
            {
                CloseQuietly();
                ServiceLog.SinkReopened(_logger, _file.Path);
            }

            batch.Clear();
            barriers.Clear();
            int lines = 0;
            while (batch.WrittenCount < BatchBytes && reader.TryRead(out var record))
            {
                if (record.IsBarrier)
                {
                    barriers.Add(record.Written!);
                    continue;
                }
                SinkFormat.Append(batch, record, _prefix);
                lines++;
            }
            if (lines > 0 && !await WriteAsync(batch.WrittenMemory, lines))
            {
                long lost = lines;
                while (reader.TryRead(out var record))
                {
                    if (record.IsBarrier)
                        barriers.Add(record.Written!);
                    else
                        lost++;
                }
                ServiceLog.SinkLinesLost(_logger, _file.Path, lost, _failure ?? "write failed");
                foreach (var barrier in barriers)
                    barrier.TrySetResult();
                return;
            }
            if (lines > 0 && _fsync == SinkFsync.Always)
                Sync();
            else if (lines > 0)
                unsynced = true;
            foreach (var barrier in barriers)
                barrier.TrySetResult();
        }
        // Shutdown: everything queued is written; force it to disk whatever the fsync mode.
        Sync();
    }

    /// <summary>Appends one batch, retrying while it fails; false only when giving up at shutdown.</summary>
    private async Task<bool> WriteAsync(ReadOnlyMemory<byte> bytes, int lines)
    {
        while (true)
        {
            try
            {
                _file.Append(bytes.Span);
                Interlocked.Add(ref _linesWritten, lines);
                Interlocked.Add(ref _bytesWritten, bytes.Length);
                if (_failure is not null)
                {
                    _failure = null;
                    ServiceLog.SinkRecovered(_logger, _file.Path);
                    Notice?.Invoke("* sink: writing again");
                }
                return true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Interlocked.Increment(ref _writeErrors);
                if (_failure is null)
                {
                    _failure = Describe(ex);
                    ServiceLog.SinkWriteFailed(_logger, _file.Path, _failure);
                    Notice?.Invoke($"! sink: cannot write its file ({_failure}); your lines are held and retried");
                }
                long closingSince = Interlocked.Read(ref _closingSince);
                if (closingSince != 0 && _time.GetElapsedTime(closingSince) >= _giveUpAfter)
                    return false;
                await Task.Delay(closingSince != 0 ? TimeSpan.FromMilliseconds(Math.Min(100, _retryDelay.TotalMilliseconds)) : _retryDelay, _time);
            }
        }
    }

    private void Sync()
    {
        try
        {
            long started = Stopwatch.GetTimestamp();
            _file.Sync();
            if (Metrics.FerryMetrics.SinkFsyncDuration.Enabled)
                Metrics.FerryMetrics.SinkFsyncDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("file", _file.Path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ServiceLog.SinkSyncFailed(_logger, _file.Path, Describe(ex));
        }
    }

    private void CloseQuietly()
    {
        try
        {
            _file.Close();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ServiceLog.SinkSyncFailed(_logger, _file.Path, Describe(ex));
        }
    }

    /// <summary>The OS's words without the path .NET appends (the path is logged separately).</summary>
    public static string Describe(Exception ex)
    {
        string message = ex.Message;
        int path = message.IndexOf(" : '", StringComparison.Ordinal);
        if (path < 0)
            path = message.IndexOf(" '/", StringComparison.Ordinal);
        return (path > 0 ? message[..path] : message).TrimEnd('.', ' ');
    }
}
