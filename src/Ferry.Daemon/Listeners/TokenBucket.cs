namespace Ferry.Daemon.Listeners;

/// <summary>
/// One source's token bucket: <paramref name="burst"/> tokens to start with, refilled at
/// <paramref name="rate"/> a second up to the burst, one taken per connection (or datagram).
/// Not thread-safe: its owner holds it under its own lock, or on its one thread.
/// </summary>
internal sealed class TokenBucket(double rate, int burst, long now)
{
    private double _tokens = burst;
    private long _stamp = now;

    /// <summary>Takes a token if there is one (timestamps from <paramref name="time"/>).</summary>
    public bool TryTake(TimeProvider time, long now)
    {
        Refill(time, now);
        if (_tokens < 1)
            return false;
        _tokens -= 1;
        return true;
    }

    /// <summary>Refilled to its burst: a source that has come back to nothing and can be forgotten.</summary>
    public bool IsFull(TimeProvider time, long now)
    {
        Refill(time, now);
        return _tokens >= burst;
    }

    private void Refill(TimeProvider time, long now)
    {
        double seconds = time.GetElapsedTime(_stamp, now).TotalSeconds;
        _stamp = now;
        _tokens = Math.Min(burst, _tokens + seconds * rate);
    }
}
