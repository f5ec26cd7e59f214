using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services.Fanout;

/// <summary>
/// One connection's place in a fan-out service (chat, broker): its bounded outbound queue,
/// watched by the listener's slow-consumer rules, and the one writer loop that drains it.
/// </summary>
internal sealed class FanoutMember : IConnectionDescription
{
    private readonly SlowConsumerWatch _watch;
    private readonly Task<WriterEnd> _writing;

    /// <param name="farewell">The final line for a cut-off client, or null to send none (raw streams).</param>
    public FanoutMember(OutboundLimits limits, TimeProvider time, SlowConsumerWatch watch,
        ServiceConnection connection, Func<string, byte[]>? farewell)
    {
        Queue = new OutboundQueue(limits, time);
        _watch = watch;
        watch.Add(Queue);
        _writing = OutboundWriter.DrainAsync(Queue, connection, farewell);
    }

    public OutboundQueue Queue { get; }

    long IConnectionDescription.QueuedBytes => Queue.QueuedBytes;

    /// <summary>
    /// Ends the member: no more messages, the writer delivers what is queued. True when the
    /// client was cut off as a slow consumer (logged here with the reason).
    /// </summary>
    public async Task<bool> FinishAsync(ILogger logger, string service, string peer)
    {
        Queue.Complete();
        var end = await _writing;
        _watch.Remove(Queue);
        if (end != WriterEnd.Cut)
            return false;
        _watch.CountCut();
        ServiceLog.SlowConsumer(logger, service, peer, Queue.CutReason ?? "cut off");
        return true;
    }
}
