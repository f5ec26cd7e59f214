namespace Ferry.Daemon.Logging;

/// <summary>
/// Keeps a condition that repeats (a flood of bad PROXY headers, clients while no upstream is
/// up) to one log line per window: the first occurrence is logged, the rest are counted, and the
/// first one after the window is logged with how many were not.
/// </summary>
internal sealed class RepeatWindow(TimeProvider time, TimeSpan window)
{
    private readonly Lock _gate = new();
    private long _openedAt;
    private bool _open;
    private long _suppressed;

    /// <summary>True: log this one, saying <paramref name="suppressed"/> more were not logged since the last.</summary>
    public bool ShouldLog(out long suppressed)
    {
        lock (_gate)
        {
            if (_open && time.GetElapsedTime(_openedAt) < window)
            {
                _suppressed++;
                suppressed = 0;
                return false;
            }
            _open = true;
            _openedAt = time.GetTimestamp();
            suppressed = _suppressed;
            _suppressed = 0;
            return true;
        }
    }

    /// <summary>The condition is over (an upstream is up again): the next occurrence is logged at once.</summary>
    public void Reset()
    {
        lock (_gate)
            _open = false;
    }
}
