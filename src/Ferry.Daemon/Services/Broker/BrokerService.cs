using System.Buffers;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Services.Fanout;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services.Broker;

/// <summary>
/// ncat --broker: every byte a client sends is relayed to every other client, unframed.
/// A sender is read only as fast as the members that keep up take its bytes
/// (<see cref="FanoutPacing"/>), so a bulk push reaches every reader that reads; unlike ncat, a
/// client that stops reading never blocks the others: its bounded queue fills and it is cut off
/// by the slow-consumer limits, while everyone else keeps receiving.
/// </summary>
internal sealed class BrokerService : IConnectionService, IServiceMetrics, Services.Backplane.IHasBackplane, IAsyncDisposable
{
    /// <summary>A name no chat room can have (rooms are letters, digits, '-', '_', '.'): a chat hub and a broker may share a cluster.</summary>
    internal const string Room = "~broker";

    private readonly OutboundLimits _limits;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IRoomDelivery _delivery;
    private readonly SlowConsumerWatch _watch;

    /// <summary>A broker listener's relay: to this process's clients, or to every node's through its backplane.</summary>
    public static BrokerService Create(ServiceContext context)
    {
        var options = context.Options<BrokerOptions>();
        // No notices: the stream is raw bytes, and text of ours would corrupt it.
        var delivery = options.Backplane is { } backplane
            ? new Backplane.RedisRoomDelivery(backplane, context.Loggers.CreateLogger("ferryd.backplane"), notice: null, streamLength: 1000)
            : null;
        return new BrokerService(options.Limits, context.Time, context.Loggers.CreateLogger("ferryd.broker"), delivery);
    }

    public BrokerService(OutboundLimits limits, TimeProvider time, ILogger logger, IRoomDelivery? delivery = null)
    {
        _limits = limits;
        _time = time;
        _logger = logger;
        _delivery = delivery ?? new LocalRoomDelivery();
        _watch = new SlowConsumerWatch(limits, time);
    }

    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        // No farewell line: the stream is raw bytes, and text of ours would corrupt it.
        var member = new FanoutMember(_limits, _time, _watch, connection, farewell: null);
        connection.Description = member;
        _delivery.Join(Room, member.Queue);
        var reason = CloseReason.Error;
        try
        {
            reason = await RelayAsync(connection, member.Queue);
        }
        finally
        {
            _delivery.Leave(Room, member.Queue);
            if (await member.FinishAsync(_logger, "broker", connection.Peer))
                reason = CloseReason.SlowConsumer;
        }
        return reason;
    }

    private async Task<CloseReason> RelayAsync(ServiceConnection connection, OutboundQueue queue)
    {
        var input = connection.Input;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(connection.Stopping, queue.CutToken);
        while (true)
        {
            System.IO.Pipelines.ReadResult read;
            try
            {
                read = await input.ReadAsync(stop.Token);
            }
            catch (OperationCanceledException) when (queue.IsCut)
            {
                return CloseReason.SlowConsumer;
            }
            catch (OperationCanceledException) when (connection.Stopping.IsCancellationRequested)
            {
                return CloseReason.Shutdown;
            }
            // While the sender waited for the room, its input kept arriving (up to the reader's
            // buffer limit, over a megabyte): it is passed on a pacing step at a time, or one
            // message could take a reader that keeps up straight over hardLimit.
            var buffer = read.Buffer.Slice(0, Math.Min(read.Buffer.Length, FanoutPacing.LargestStep(_limits)));
            if (!buffer.IsEmpty)
            {
                // One copy per step, shared by every recipient's queue.
                _delivery.Publish(Room, buffer.ToArray(), queue);
            }
            input.AdvanceTo(buffer.End);
            try
            {
                // Read on only as fast as the members that keep up take it.
                await FanoutPacing.WaitForMembersAsync(_delivery, Room, queue, _limits, _time, stop.Token);
            }
            catch (OperationCanceledException) when (queue.IsCut)
            {
                return CloseReason.SlowConsumer;
            }
            catch (OperationCanceledException) when (connection.Stopping.IsCancellationRequested)
            {
                return CloseReason.Shutdown;
            }
            if (read.IsCompleted && buffer.End.Equals(read.Buffer.End))
                return CloseReason.PeerClosed;
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
        if (_delivery is IAsyncDisposable disposable)
            await disposable.DisposeAsync();
    }
}
