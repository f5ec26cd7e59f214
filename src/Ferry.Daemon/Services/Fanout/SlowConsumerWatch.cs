using System.Collections.Concurrent;

namespace Ferry.Daemon.Services.Fanout;

/// <summary>
/// Re-judges every live queue against its soft limit on a timer, so a client that stopped
/// reading is cut within its soft time even when no new message arrives for it.
/// One per listener; the cost is one timer, not one per connection. Holding every member's
/// queue, it also answers the fan-out's metrics (<see cref="Report"/>).
/// </summary>
internal sealed class SlowConsumerWatch : IDisposable
{
    private readonly ConcurrentDictionary<OutboundQueue, byte> _queues = new();
    private readonly ITimer _timer;
    private long _cut;

    public SlowConsumerWatch(OutboundLimits limits, TimeProvider time)
    {
        // A quarter of the soft time, at most a second: cut within soft time plus a small slack.
        var period = TimeSpan.FromTicks(Math.Clamp(limits.SoftTime.Ticks / 4, TimeSpan.TicksPerMillisecond * 50, TimeSpan.TicksPerSecond));
        _timer = time.CreateTimer(_ => CheckAll(), null, period, period);
    }

    public void Add(OutboundQueue queue) => _queues.TryAdd(queue, 0);

    public void Remove(OutboundQueue queue) => _queues.TryRemove(queue, out _);

    /// <summary>A member was cut off as a slow consumer (its close reason says so too).</summary>
    public void CountCut() => Interlocked.Increment(ref _cut);

    /// <summary>The fan-out's numbers: members and their queues from here, messages from the delivery.</summary>
    public void Report(ServiceReport report, IRoomDelivery delivery)
    {
        long members = 0, queued = 0;
        foreach (var queue in _queues.Keys)
        {
            members++;
            queued += queue.QueuedBytes;
        }
        report.Add(ServiceMetric.FanoutMembers, members);
        report.Add(ServiceMetric.FanoutQueuedBytes, queued);
        report.Add(ServiceMetric.FanoutSlowConsumers, Interlocked.Read(ref _cut));
        report.Add(ServiceMetric.FanoutMessages, delivery.MessagesPublished);
        report.Add(ServiceMetric.FanoutBytes, delivery.BytesQueued);
    }

    public void CheckAll()
    {
        foreach (var queue in _queues.Keys)
            queue.Check();
    }

    public void Dispose() => _timer.Dispose();
}
