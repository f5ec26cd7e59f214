using System.Diagnostics;

namespace Ferry.Bench.Reports;

/// <summary>
/// Paces a progress display: waits for the next tick or the end of the run, whichever comes
/// first, and reports the interval since the previous tick so rates are per real second.
/// </summary>
internal sealed class ProgressTicks(TimeSpan duration, TimeSpan interval)
{
    private readonly long _start = Stopwatch.GetTimestamp();
    private TimeSpan _last = TimeSpan.Zero;

    public TimeSpan Elapsed => _last;

    /// <summary>
    /// Waits for the next tick; returns the seconds since the previous one, or null when the
    /// run is over.
    /// </summary>
    public async Task<double?> NextAsync(CancellationToken cancellationToken)
    {
        if (_last >= duration)
            return null;
        TimeSpan target = _last + interval < duration ? _last + interval : duration;
        TimeSpan wait = target - Stopwatch.GetElapsedTime(_start);
        if (wait > TimeSpan.Zero)
            await Task.Delay(wait, cancellationToken);
        TimeSpan now = Stopwatch.GetElapsedTime(_start);
        // Task.Delay may return a hair early; never let that make another, tiny interval.
        if (now < target)
            now = target;
        double seconds = (now - _last).TotalSeconds;
        _last = now;
        return seconds;
    }
}
