using System.Diagnostics;

namespace Ferry.Client.Bench;

/// <summary>
/// Open-loop pacing for one connection: the times its messages are meant to leave, one
/// interval apart, whatever the server does. Latency is measured from these intended times,
/// so a server that stalls is charged for every message that should have been sent during
/// the stall (the "coordinated omission" correction), not only for the one that was waiting.
/// </summary>
internal sealed class SendSchedule
{
    private readonly long _intervalTicks;
    private long _next;

    public SendSchedule(long firstTimestamp, double messagesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(messagesPerSecond);
        _intervalTicks = Math.Max(1, (long)(Stopwatch.Frequency / messagesPerSecond));
        _next = firstTimestamp;
    }

    /// <summary>The intended send time of the next message; advances the schedule.</summary>
    public long TakeNext()
    {
        long intended = _next;
        _next += _intervalTicks;
        return intended;
    }

    /// <summary>
    /// Waits until shortly before <paramref name="intendedTimestamp"/>. Timers are
    /// millisecond-grained and tend to fire late, so it aims a millisecond or two early rather
    /// than late; callers measure from the earlier of the intended and the actual send time,
    /// which never flatters the server. The rate holds because the schedule, not the wake-up,
    /// decides the next intended time.
    /// </summary>
    public static async ValueTask WaitUntilAsync(long intendedTimestamp, CancellationToken cancellationToken)
    {
        long remaining = intendedTimestamp - Stopwatch.GetTimestamp();
        long millisecond = Stopwatch.Frequency / 1000;
        long wholeMilliseconds = remaining / millisecond - 1;
        if (wholeMilliseconds >= 1)
            await Task.Delay(TimeSpan.FromMilliseconds(wholeMilliseconds), cancellationToken);
    }
}
