using System.Diagnostics;

namespace Ferry.Bench;

/// <summary>
/// Open-loop pacing for one connection: the times its messages are meant to leave, one
/// interval apart, whatever the server does. Latency is measured from these intended times,
/// so a server that stalls is charged for every message that should have been sent during
/// the stall (the "coordinated omission" correction), not only for the one that was waiting.
/// </summary>
internal sealed class SendSchedule
{
    // How often a long wait looks whether the run is stopping.
    private const long StopCheckMilliseconds = 50;

    private readonly long _intervalTicks;
    private long _next;

    public SendSchedule(long firstTimestamp, double messagesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(messagesPerSecond);
        _intervalTicks = Math.Max(1, (long)(Stopwatch.Frequency / messagesPerSecond));
        _next = firstTimestamp;
    }

    /// <summary>
    /// The schedule of connection <paramref name="index"/> of <paramref name="count"/>, all at
    /// <paramref name="messagesPerSecond"/> each: their first sends are spread evenly over one
    /// interval from <paramref name="start"/>, so the connections do not all send at once.
    /// </summary>
    public static SendSchedule Staggered(long start, double messagesPerSecond, int index, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
        var schedule = new SendSchedule(start, messagesPerSecond);
        // In double: interval × index overflows a long for slow rates and many connections.
        schedule._next = start + (long)((double)schedule._intervalTicks * index / count);
        return schedule;
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
    /// <para>
    /// Returns early once the run is stopping: a slow schedule (one message every few seconds)
    /// then neither holds the end of the run back nor runs into the run's deadline. Waits
    /// longer than a slice are cut into slices for that; a rate of 20/s or more waits once.
    /// </para>
    /// </summary>
    public static async ValueTask WaitUntilAsync(long intendedTimestamp, BenchPhase phase, CancellationToken cancellationToken)
    {
        long millisecond = Stopwatch.Frequency / 1000;
        while (!phase.Stopping)
        {
            long wholeMilliseconds = (intendedTimestamp - Stopwatch.GetTimestamp()) / millisecond - 1;
            if (wholeMilliseconds < 1)
                return;
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(wholeMilliseconds, StopCheckMilliseconds)), cancellationToken);
        }
    }
}
