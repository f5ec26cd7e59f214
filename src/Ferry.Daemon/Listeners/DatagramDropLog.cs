using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Tells the log about a udp: listener's dropped datagrams without a line per datagram (a flood
/// would be a flood of lines): one summary line per episode, when drops have stopped for
/// <see cref="Quiet"/>, and one every <see cref="Interval"/> while they go on. Reads the counters
/// from the listener's once-a-second sweep; the socket thread never logs.
/// </summary>
internal sealed partial class DatagramDropLog(string listener, DatagramCounters counters, Func<System.Net.IPAddress?> lastDropped,
    ILogger logger, TimeProvider time)
{
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    // From the counts so far: a listener a reload put in another's place continues its counts,
    // and what its predecessor dropped was its predecessor's to tell.
    private readonly long[] _logged = [.. Enum.GetValues<DatagramDrop>().Select(counters.Dropped)];
    private long _seen = counters.DroppedTotal;
    private long _changedAt;
    private long _pendingSince;

    public void Tick()
    {
        long now = time.GetTimestamp();
        long total = counters.DroppedTotal;
        long logged = _logged.Sum();
        if (total == logged)
            return;
        if (total != _seen)
        {
            if (_seen == logged)
                _pendingSince = now;  // the first drops since the last line: an episode begins
            _seen = total;
            _changedAt = now;
        }
        if (time.GetElapsedTime(_changedAt, now) >= Quiet || time.GetElapsedTime(_pendingSince, now) >= Interval)
            Summarize(now);
    }

    private void Summarize(long now)
    {
        var parts = new List<string>();
        long dropped = 0;
        foreach (var reason in Enum.GetValues<DatagramDrop>())
        {
            long count = counters.Dropped(reason) - _logged[(int)reason];
            _logged[(int)reason] += count;
            dropped += count;
            if (count > 0)
                parts.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{count:N0} {Describe(reason)}"));
        }
        double seconds = Math.Max(1, Math.Round(time.GetElapsedTime(_pendingSince, now).TotalSeconds));
        _pendingSince = now;
        _seen = _logged.Sum();
        if (dropped > 0)
            Dropped(logger, listener, dropped.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), seconds, string.Join(", ", parts), lastDropped()?.ToString() ?? "unknown");
    }

    /// <summary>The reason as the status and the metrics' reason label name it: "rateExceeded".</summary>
    public static string Key(DatagramDrop reason)
    {
        string name = reason.ToString();
        return char.ToLowerInvariant(name[0]) + name[1..];
    }

    public static string Describe(DatagramDrop reason) => reason switch
    {
        DatagramDrop.NotAllowed => "not allowed",
        DatagramDrop.LoopPort => "from a service port (loop guard)",
        DatagramDrop.RateExceeded => "over the source's rate",
        DatagramDrop.Amplification => "reply larger than request (amplify=off)",
        DatagramDrop.SessionsFull => "new client while maxSessions are open",
        DatagramDrop.SessionFailed => "no session could be opened",
        _ => "not taken by the socket (send buffer full)",
    };

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "{Listener}: dropped {Dropped} datagram(s) in about {Seconds} s: {Reasons}; last from {Source}")]
    private static partial void Dropped(ILogger logger, string listener, string dropped, double seconds, string reasons, string source);
}
