using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Hosting;
using Ferry.Daemon.Services.Fanout;
using Ferry.Protocol;
using Microsoft.Extensions.Logging;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Services.Sink;

/// <summary>
/// A line collector: every complete line a client sends is appended to one file by the file's
/// <see cref="SinkWriter"/> (shared by every listener that names the file). Clients get a line
/// back when something is wrong (over-long line, file not writable) and, with <c>ack=</c>, when
/// their lines are in the file. At shutdown each connection keeps reading until its client
/// closes or falls quiet, so every line sent before the signal reaches the file.
/// </summary>
internal sealed class SinkService : IConnectionService, IAsyncDisposable
{
    /// <summary>
    /// At shutdown, a connection that brought no new bytes for this long has sent everything it
    /// is going to. Generous on purpose: under load the transport itself may lag this much.
    /// </summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(1);

    /// <summary>Replies are a few short error lines; a client that lets 64 KiB of them pile up is cut.</summary>
    private static readonly OutboundLimits ReplyLimits = new(64 * 1024, 0, TimeSpan.FromSeconds(1));

    private readonly SinkOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SinkWriter _writer;
    private readonly Func<ValueTask> _release;
    private readonly ConcurrentDictionary<OutboundQueue, byte> _clients = new();
    private readonly SignalQueue? _reopenSignal;

    /// <param name="writer">The file's writer, maybe shared with other listeners.</param>
    /// <param name="release">Gives the writer back when this listener is done with it.</param>
    /// <param name="reopenOnSignal">SIGUSR1 reopens the file (off in unit tests, which own no signals).</param>
    public SinkService(SinkOptions options, SinkWriter writer, TimeProvider time, ILogger logger, Func<ValueTask> release, bool reopenOnSignal = true)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _writer = writer;
        _release = release;
        _writer.Notice += TellEveryone;
        // SIGUSR1, like nginx and ferryd's own logs: reopen after rotation.
        // The writer only notes the request; it reopens on its own thread before the next write.
        if (reopenOnSignal)
        {
            _reopenSignal = new SignalQueue(SignalNumber.UserSignal1, () =>
            {
                _writer.RequestReopen();
                return Task.CompletedTask;
            });
        }
    }

    public static SinkService Create(ServiceContext context)
    {
        var options = context.Options<SinkOptions>();
        var logger = context.Loggers.CreateLogger("ferryd.sink");
        var writer = SharedSinkFiles.Acquire(options, context.Listener.ToString(), context.Time, logger);
        return new SinkService(options, writer, context.Time, logger, () => SharedSinkFiles.ReleaseAsync(writer));
    }

    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        var replies = new OutboundQueue(ReplyLimits, _time);
        _clients.TryAdd(replies, 0);
        if (_writer.Failure is { } failure)
            replies.TryEnqueue(Encoding.UTF8.GetBytes($"! sink: cannot write its file ({failure}); your lines are held and retried\n"));
        var writing = OutboundWriter.DrainAsync(replies, connection, farewell: null);
        try
        {
            return await ReadLinesAsync(connection, replies);
        }
        catch (ChannelClosedException)
        {
            // The writer closed at shutdown while this connection waited for room.
            return CloseReason.Aborted;
        }
        finally
        {
            _clients.TryRemove(replies, out _);
            replies.Complete();
            await writing;
        }
    }

    private async Task<CloseReason> ReadLinesAsync(ServiceConnection connection, OutboundQueue replies)
    {
        var lines = new LineReader(connection.Input, _options.Lines, replies, _logger, "sink", connection.Peer);
        var acknowledge = _options.Acknowledge;
        long appended = 0;
        Task acknowledged = Task.CompletedTask;
        CancellationTokenSource? quiet = null;
        // Not a cancelled read: at shutdown we switch to draining, we do not stop reading.
        using var onStopping = connection.Stopping.Register(connection.Input.CancelPendingRead);
        try
        {
            while (true)
            {
                LineEvent next;
                try
                {
                    next = await lines.NextAsync(quiet?.Token ?? CancellationToken.None);
                }
                catch (OperationCanceledException) when (quiet is { IsCancellationRequested: true })
                {
                    // The timer may have beaten bytes that did arrive (a busy machine runs our
                    // continuation late): only a pipe with nothing new in it is really quiet.
                    if (!lines.TryReadMore())
                    {
                        if (lines.Unfinished > 0)
                            ServiceLog.SinkPartialDropped(_logger, connection.Peer, lines.Unfinished, "server shutdown");
                        return CloseReason.Shutdown;
                    }
                    quiet.Dispose();
                    quiet = new CancellationTokenSource();
                    quiet.CancelAfter(QuietPeriod);
                    continue;
                }

                switch (next)
                {
                    case LineEvent.Line:
                        // Documented rule: an unterminated last line at a clean end of stream is kept,
                        // written with the '\n' it lacked; one cut by a reset or shutdown is dropped.
                        await _writer.AppendAsync(new SinkRecord(lines.Line.ToArray(), connection.Peer, _time.GetUtcNow()));
                        appended++;
                        if (acknowledge.Every > 0 && appended % acknowledge.Every == 0)
                            acknowledged = AcknowledgeAsync(acknowledged, await _writer.MarkAsync(), replies, appended);
                        break;
                    case LineEvent.TooLong:
                        return CloseReason.LineTooLong;
                    case LineEvent.End:
                        // Stay until this client's lines are in the file, so a client that half-closed
                        // (nc -N) is still told if they cannot be written, and a close means "written".
                        try
                        {
                            await _writer.WrittenAsync(connection.Stopping);
                        }
                        catch (OperationCanceledException)
                        {
                            return CloseReason.Shutdown;
                        }
                        // The last lines' count, unless a periodic acknowledgement has just said it.
                        if (acknowledge.AtEnd && (acknowledge.Every == 0 || appended % acknowledge.Every != 0))
                            await AcknowledgeAsync(acknowledged, Task.CompletedTask, replies, appended);
                        else
                            await acknowledged;
                        return CloseReason.PeerClosed;
                }

                if (quiet is null && connection.Stopping.IsCancellationRequested)
                    quiet = new CancellationTokenSource();
                quiet?.CancelAfter(QuietPeriod);
            }
        }
        finally
        {
            quiet?.Dispose();
        }
    }

    /// <summary>
    /// "* N lines written", once the earlier acknowledgements are out (they stay in order) and the
    /// lines behind <paramref name="written"/> are in the file (and synced with fsync=always).
    /// </summary>
    private static async Task AcknowledgeAsync(Task earlier, Task written, OutboundQueue replies, long lines)
    {
        await earlier;
        await written;
        replies.TryEnqueue(Encoding.ASCII.GetBytes($"* {lines} lines written\n"));
    }

    private void TellEveryone(string text)
    {
        byte[] line = Encoding.UTF8.GetBytes(text + "\n");
        foreach (var client in _clients.Keys)
            client.TryEnqueue(line);
    }

    public async ValueTask DisposeAsync()
    {
        if (_reopenSignal is not null)
            await _reopenSignal.DisposeAsync();
        _writer.Notice -= TellEveryone;
        await _release();
    }
}
