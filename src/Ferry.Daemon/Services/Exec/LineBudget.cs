namespace Ferry.Daemon.Services.Exec;

/// <summary>
/// At most <paramref name="perWindow"/> lines per window for one listener: a program that writes
/// stderr in a loop cannot flood the log. What was not logged is counted and reported once, at
/// the end of the window it happened in (or with the first line of the next, if that comes first).
/// </summary>
internal sealed class LineBudget(TimeProvider time, TimeSpan window, int perWindow, Action<long> reportSuppressed)
{
    private readonly Lock _gate = new();
    private long _windowStart = long.MinValue;
    private int _used;
    private long _suppressed;
    private ITimer? _report;

    /// <summary>True: log this line. False: it is counted, and the count reported at the window's end.</summary>
    public bool TryTake()
    {
        long late = 0;
        bool take;
        lock (_gate)
        {
            if (_windowStart == long.MinValue || time.GetElapsedTime(_windowStart) >= window)
            {
                _windowStart = time.GetTimestamp();
                _used = 0;
                late = TakeSuppressed();
            }
            take = _used < perWindow;
            if (take)
            {
                _used++;
            }
            else if (_suppressed++ == 0)
            {
                var remaining = window - time.GetElapsedTime(_windowStart);
                _report = time.CreateTimer(static state => ((LineBudget)state!).ReportNow(), this,
                    remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
            }
        }
        if (late > 0)
            reportSuppressed(late);
        return take;
    }

    private void ReportNow()
    {
        long count;
        lock (_gate)
            count = TakeSuppressed();
        if (count > 0)
            reportSuppressed(count);
    }

    private long TakeSuppressed()
    {
        long count = _suppressed;
        _suppressed = 0;
        _report?.Dispose();
        _report = null;
        return count;
    }
}
