using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Once a second, per listener: close connections idle past idleTimeout (no byte either
/// way, judged from the byte counters the services keep) or silent past firstByteTimeout,
/// forget per-source entries that no longer matter, and end the refusal log's window.
/// A sweep instead of a timer per connection: nothing is done per byte or per read, and
/// timeouts are exact to about a second, which is all they need to be.
/// </summary>
internal sealed class ConnectionSweep(ListenerPolicy policy, TimeProvider time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    public void Run(IEnumerable<TrackedConnection> connections)
    {
        long now = time.GetTimestamp();
        foreach (var connection in connections)
        {
            if (connection.Expired is not null)
                continue;
            long bytesIn = connection.Stats.BytesIn;
            long total = bytesIn + connection.Stats.BytesOut;
            if (total != connection.LastBytes)
            {
                connection.LastBytes = total;
                connection.LastActivity = now;
                continue;
            }
            if (policy.FirstByteTimeout > TimeSpan.Zero && bytesIn == 0 && connection.ServiceStartedAt != 0
                && time.GetElapsedTime(connection.ServiceStartedAt, now) >= policy.FirstByteTimeout)
            {
                connection.Expire(CloseReason.FirstByteTimeout, "no first byte in time");
            }
            else if (policy.IdleTimeout > TimeSpan.Zero && time.GetElapsedTime(connection.LastActivity, now) >= policy.IdleTimeout)
            {
                connection.Expire(CloseReason.IdleTimeout, "idle timeout");
            }
        }
    }
}
