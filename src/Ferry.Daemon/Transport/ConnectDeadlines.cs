namespace Ferry.Daemon.Transport;

/// <summary>
/// The deadlines of every outbound connect in flight, checked ten times a second by one timer
/// (which stops while none is pending): a connect that passes its deadline is closed, which
/// wakes its waiter. One list entry per connect instead of a timer object each.
/// </summary>
internal static class ConnectDeadlines
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);
    private static readonly Lock Gate = new();
    private static readonly List<(SocketConnection Connection, long Deadline)> Pending = [];
    private static readonly Timer Sweeper = new(_ => Sweep(), null, Timeout.Infinite, Timeout.Infinite);

    public static void Add(SocketConnection connection, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (Gate)
        {
            Pending.Add((connection, deadline));
            if (Pending.Count == 1)
                Sweeper.Change(Tick, Tick);
        }
    }

    /// <summary>The connect finished in time. False: the deadline passed first, and the connection is (being) closed.</summary>
    public static bool Remove(SocketConnection connection)
    {
        lock (Gate)
        {
            for (int i = 0; i < Pending.Count; i++)
            {
                if (!ReferenceEquals(Pending[i].Connection, connection))
                    continue;
                Pending[i] = Pending[^1];
                Pending.RemoveAt(Pending.Count - 1);
                if (Pending.Count == 0)
                    Sweeper.Change(Timeout.Infinite, Timeout.Infinite);
                return true;
            }
            return false;
        }
    }

    private static void Sweep()
    {
        List<SocketConnection>? expired = null;
        long now = Environment.TickCount64;
        lock (Gate)
        {
            for (int i = Pending.Count - 1; i >= 0; i--)
            {
                if (Pending[i].Deadline > now)
                    continue;
                (expired ??= []).Add(Pending[i].Connection);
                Pending[i] = Pending[^1];
                Pending.RemoveAt(Pending.Count - 1);
            }
            if (Pending.Count == 0)
                Sweeper.Change(Timeout.Infinite, Timeout.Infinite);
        }
        if (expired is null)
            return;
        foreach (var connection in expired)
            connection.Close(new TimeoutException("connect timed out"));
    }
}
