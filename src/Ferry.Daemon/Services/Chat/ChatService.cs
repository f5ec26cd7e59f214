using System.Buffers;
using System.IO.Pipelines;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Services.Fanout;
using Ferry.Protocol;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services.Chat;

/// <summary>
/// A line chat with nicknames and rooms (see docs/services.md). Per connection: this reader
/// loop turns lines into commands and messages, and one <see cref="OutboundWriter"/> loop sends
/// what the hub queued for the client, so fan-out never waits for anyone.
/// </summary>
internal sealed class ChatService : IConnectionService, IAsyncDisposable
{
    private readonly ChatOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ChatHub _hub;
    private readonly SlowConsumerWatch _watch;

    public ChatService(ChatOptions options, TimeProvider time, ILogger logger, IRoomDelivery? delivery = null)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _hub = new ChatHub(delivery ?? new LocalRoomDelivery());
        _watch = new SlowConsumerWatch(options.Limits, time);
    }

    /// <summary>Only non-blocking pipe and queue operations.</summary>
    public bool NeverBlocks => true;

    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        var member = new FanoutMember(_options.Limits, _time, _watch, connection, ChatCommands.Farewell);
        var client = _hub.Connect(connection.Peer, member.Queue);
        var reason = CloseReason.Error;
        try
        {
            reason = await ReadLinesAsync(connection, client);
        }
        finally
        {
            _hub.Disconnect(client, reason switch
            {
                CloseReason.ClientQuit => "quit",
                CloseReason.SlowConsumer => "slow consumer",
                CloseReason.Shutdown => "server shutdown",
                _ => "disconnected",
            });
            if (await member.FinishAsync(_logger, "chat", connection.Peer))
                reason = CloseReason.SlowConsumer;
        }
        return reason;
    }

    private async Task<CloseReason> ReadLinesAsync(ServiceConnection connection, ChatClient client)
    {
        var input = connection.Input;
        var framer = new LineFramer(_options.Lines.MaxLine);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(connection.Stopping, client.Queue.CutToken);
        long leftOver = 0;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(stop.Token);
            }
            catch (OperationCanceledException) when (client.Queue.IsCut)
            {
                return CloseReason.SlowConsumer;
            }
            catch (OperationCanceledException) when (connection.Stopping.IsCancellationRequested)
            {
                client.Tell("* server shutting down");
                return CloseReason.Shutdown;
            }

            var buffer = read.Buffer;
            connection.Stats.Received(buffer.Length - leftOver);
            connection.ReceivedLines?.Observe(buffer.Slice(leftOver));
            while (true)
            {
                var result = framer.TryReadLine(ref buffer, out var line);
                if (result == LineReadResult.NeedMoreData)
                    break;
                if (result == LineReadResult.LineTooLong)
                {
                    client.Queue.TryEnqueue(_options.Lines.TooLongReply());
                    bool close = _options.Lines.Overlong == OverlongLinePolicy.Close;
                    ServiceLog.LineTooLong(_logger, "chat", connection.Peer, _options.Lines.MaxLine, close ? "closing" : "discarded");
                    if (close)
                        return CloseReason.LineTooLong;
                    continue;
                }
                if (!ChatCommands.Handle(_hub, client, LineText.ToDisplayText(line)))
                    return CloseReason.ClientQuit;
            }

            if (read.IsCompleted)
            {
                // An unterminated last line at end of stream counts as a line: "echo -n hi | nc" says hi.
                if (!buffer.IsEmpty && !framer.IsDiscarding)
                    ChatCommands.Handle(_hub, client, LineText.ToDisplayText(TrimCarriageReturn(buffer)));
                return CloseReason.PeerClosed;
            }
            leftOver = buffer.Length;
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static ReadOnlySequence<byte> TrimCarriageReturn(ReadOnlySequence<byte> tail) =>
        tail.Length > 0 && tail.Slice(tail.Length - 1).FirstSpan[0] == (byte)'\r' ? tail.Slice(0, tail.Length - 1) : tail;

    public ValueTask DisposeAsync()
    {
        _watch.Dispose();
        return ValueTask.CompletedTask;
    }
}
