namespace Ferry.Daemon.Connections;

/// <summary>
/// Once a second, per listener (zero timeouts are off): close connections idle past idleTimeout (no byte either
/// way across the socket, judged from the transport's byte counts) or silent past
/// firstByteTimeout (nothing the service could read since it started).
/// A sweep instead of a timer per connection: nothing is done per byte or per read, and
/// timeouts are exact to about a second, which is all they need to be.
/// </summary>
internal sealed class ConnectionSweep(TimeSpan idleTimeout, TimeSpan firstByteTimeout, TimeProvider time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    public void Run(IEnumerable<TrackedConnection> connections)
    {
        long now = time.GetTimestamp();
        foreach (var connection in connections)
        {
            if (connection.Expired is not null)
                continue;
            long total = connection.Wire.BytesReceived + connection.Wire.BytesSent;
            if (total != connection.LastBytes)
            {
                connection.LastBytes = total;
                connection.LastActivity = now;
                continue;
            }
            if (firstByteTimeout > TimeSpan.Zero && connection.Traffic.BytesReceived == 0 && connection.ServiceStartedAt != 0
                && time.GetElapsedTime(connection.ServiceStartedAt, now) >= firstByteTimeout)
            {
                connection.Expire(CloseReason.FirstByteTimeout, "no first byte in time");
            }
            else if (idleTimeout > TimeSpan.Zero && time.GetElapsedTime(connection.LastActivity, now) >= idleTimeout)
            {
                connection.Expire(CloseReason.IdleTimeout, "idle timeout");
            }
        }
    }
}
