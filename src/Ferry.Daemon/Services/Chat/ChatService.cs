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
internal sealed class ChatService : IConnectionService, IServiceMetrics, Services.Backplane.IHasBackplane, IAsyncDisposable
{
    private readonly ChatOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IRoomDelivery _delivery;
    private readonly ChatHub _hub;
    private readonly ISharedPresence? _presence;
    private readonly SlowConsumerWatch _watch;

    /// <summary>A chat listener's hub: this process's rooms, or rooms shared through its backplane.</summary>
    public static ChatService Create(ServiceContext context)
    {
        var options = context.Options<ChatOptions>();
        var logger = context.Loggers.CreateLogger("ferryd.chat");
        if (options.Backplane is not { } backplane)
            return new ChatService(options, context.Time, logger);
        var backplaneLogger = context.Loggers.CreateLogger("ferryd.backplane");
        var delivery = new Backplane.RedisRoomDelivery(backplane, backplaneLogger, ChatLine.Notice);
        return new ChatService(options, context.Time, logger, delivery, new Backplane.RedisPresence(delivery, backplane.Heartbeat, backplaneLogger));
    }

    public ChatService(ChatOptions options, TimeProvider time, ILogger logger, IRoomDelivery? delivery = null, ISharedPresence? presence = null)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _delivery = delivery ?? new LocalRoomDelivery();
        _presence = presence;
        _hub = _delivery is Backplane.RedisRoomDelivery shared ? new ChatHub(_delivery, $"guest-{shared.NodeTag}-", presence) : new ChatHub(_delivery);
        _watch = new SlowConsumerWatch(options.Limits, time);
    }

    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        var member = new FanoutMember(_options.Limits, _time, _watch, connection, ChatCommands.Farewell);
        var client = _hub.Connect(connection.Peer, member.Queue);
        connection.Description = client;
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
        var lines = new LineReader(connection.Input, _options.Lines, client.Queue, _logger, "chat", connection.Peer);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(connection.Stopping, client.Queue.CutToken);
        while (true)
        {
            LineEvent next;
            try
            {
                // A client that talks faster than its room reads is read only as fast as the
                // members that keep up take its lines.
                await FanoutPacing.WaitForMembersAsync(_delivery, client.Room, client.Queue, _options.Limits, _time, stop.Token);
                next = await lines.NextAsync(stop.Token);
            }
            catch (OperationCanceledException) when (client.Queue.IsCut)
            {
                return CloseReason.SlowConsumer;
            }
            catch (OperationCanceledException) when (connection.Stopping.IsCancellationRequested)
            {
                client.Tell(ChatWire.Notice("server shutting down"));
                return CloseReason.Shutdown;
            }
            switch (next)
            {
                case LineEvent.Line when !ChatCommands.Handle(_hub, client, LineText.ToDisplayText(lines.Line)):
                    return CloseReason.ClientQuit;
                case LineEvent.TooLong:
                    return CloseReason.LineTooLong;
                case LineEvent.End:
                    return CloseReason.PeerClosed;
            }
        }
    }

    public void Report(ServiceReport report)
    {
        _watch.Report(report, _delivery);
        Services.Backplane.BackplaneReport.Add(report, Backplane);
    }

    public Backplane.BackplaneState? Backplane => (_delivery as Backplane.RedisRoomDelivery)?.State;

    public async ValueTask DisposeAsync()
    {
        _watch.Dispose();
        // The presence writes through the delivery's connection: it goes first.
        if (_presence is IAsyncDisposable presence)
            await presence.DisposeAsync();
        if (_delivery is IAsyncDisposable disposable)
            await disposable.DisposeAsync();
    }
}
