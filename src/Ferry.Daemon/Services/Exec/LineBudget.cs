namespace Ferry.Daemon.Services.Exec;

/// <summary>
/// At most <paramref name="perWindow"/> lines per window for one listener: a program that writes
/// stderr in a loop cannot flood the log. What was not logged is counted and said with the first
/// line of the next window.
/// </summary>
internal sealed class LineBudget(TimeProvider time, TimeSpan window, int perWindow)
{
    private readonly Lock _gate = new();
    private long _windowStart = long.MinValue;
    private int _used;
    private long _suppressed;

    /// <summary>True: log this line, after saying <paramref name="suppressed"/> were not (when more than 0).</summary>
    public bool TryTake(out long suppressed)
    {
        lock (_gate)
        {
            if (_windowStart == long.MinValue || time.GetElapsedTime(_windowStart) >= window)
            {
                _windowStart = time.GetTimestamp();
                _used = 0;
            }
            if (_used == perWindow)
            {
                _suppressed++;
                suppressed = 0;
                return false;
            }
            _used++;
            suppressed = _suppressed;
            _suppressed = 0;
            return true;
        }
    }
}
