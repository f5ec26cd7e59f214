using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Logs refusals without letting a flood flood the log: the first refusal of each
/// <see cref="Window"/> is logged with its peer and reason, the rest are counted, and one
/// summary line per window says how many more there were, why, and the last peer.
/// </summary>
internal sealed partial class RefusalLog(string listener, ILogger logger, TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly long[] _suppressed = new long[RefusalReasonText.All.Length];
    private long _windowStart;
    private bool _windowOpen;
    private string _lastPeer = "";

    public void Refused(string peer, RefusalReason reason, string detail)
    {
        lock (_gate)
        {
            if (_windowOpen)
            {
                _suppressed[(int)reason]++;
                _lastPeer = peer;
                return;
            }
            _windowOpen = true;
            _windowStart = time.GetTimestamp();
        }
        ConnectionRefused(logger, peer, listener, detail);
    }

    /// <summary>Ends the window once it is over, logging its summary; called every second by the sweep.</summary>
    public void Tick()
    {
        string? summary = null;
        long total = 0;
        string lastPeer;
        lock (_gate)
        {
            if (!_windowOpen || time.GetElapsedTime(_windowStart) < Window)
                return;
            _windowOpen = false;
            total = _suppressed.Sum();
            if (total > 0)
            {
                summary = string.Join(", ", RefusalReasonText.All.Where(r => _suppressed[(int)r] > 0)
                    .Select(r => $"{_suppressed[(int)r]} by {r.Key()}"));
                Array.Clear(_suppressed);
            }
            lastPeer = _lastPeer;
        }
        if (summary is not null)
            MoreRefused(logger, total, listener, Window.TotalSeconds, summary, lastPeer);
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "refused {Peer} on {Listener}: {Reason}")]
    private static partial void ConnectionRefused(ILogger logger, string peer, string listener, string reason);

    [LoggerMessage(EventId = 31, Level = LogLevel.Warning,
        Message = "refused {Count} more connection(s) on {Listener} in the last {Seconds} s ({Reasons}); last from {Peer}")]
    private static partial void MoreRefused(ILogger logger, long count, string listener, double seconds, string reasons, string peer);
}
