using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One listener's episodes of running out of file descriptors (EMFILE/ENFILE from accept, or an
/// accepted socket inside the reserve): one line when an episode starts and one when it is over,
/// however many attempts fail in between and however the load churns near the limit. An episode
/// is over once a connection has been admitted below the low-water mark (<see cref="Admission"/>
/// refuses from there while short: hysteresis) and nothing has failed for <see cref="QuietTime"/>;
/// the listener's once-a-second <see cref="Tick"/> ends it when no new client comes to do so.
/// Accept backs off from 100 ms, doubling to 1 s, while open connections keep being served.
/// </summary>
internal sealed partial class DescriptorShortage(string listener, ILogger logger, TimeProvider time)
{
    /// <summary>How long without a failure before an episode counts as over.</summary>
    public static readonly TimeSpan QuietTime = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(1);

    // The accept loop and the sweep both come here; episodes are rare, a lock costs nothing.
    private readonly Lock _gate = new();
    private bool _short;
    private long _since;
    private long _lastFailure;
    private long _failures;
    private bool _admittedSinceFailure;
    private TimeSpan _pause = FirstPause;

    public bool IsShort => Volatile.Read(ref _short);

    /// <summary>accept itself failed: logs if this starts a shortage; returns how long to pause.</summary>
    public TimeSpan AcceptFailed(string error)
    {
        lock (_gate)
        {
            Failed(error);
            var pause = _pause;
            _pause = TimeSpan.FromTicks(Math.Min(LongestPause.Ticks, _pause.Ticks * 2));
            return pause;
        }
    }

    /// <summary>A socket was accepted inside the reserve (or, while short, above the low-water mark) and is being refused.</summary>
    public void Refused(long descriptor, long limit)
    {
        lock (_gate)
            Failed($"descriptor {descriptor} of {limit} is within the reserve kept for ferryd itself");
    }

    /// <summary>A socket was accepted and kept: if short and quiet long enough, the episode is over.</summary>
    public void Admitted()
    {
        lock (_gate)
        {
            _admittedSinceFailure = true;
            EndIfOver();
        }
    }

    /// <summary>Ends an episode in which a client was admitted since the last failure, once it has been quiet long enough.</summary>
    public void Tick()
    {
        lock (_gate)
            EndIfOver();
    }

    private void EndIfOver()
    {
        if (!_short || !_admittedSinceFailure || time.GetElapsedTime(_lastFailure) < QuietTime)
            return;
        _short = false;
        _pause = FirstPause;
        AcceptingAgain(logger, listener, time.GetElapsedTime(_since).TotalSeconds, _failures);
        _failures = 0;
    }

    private void Failed(string detail)
    {
        _failures++;
        _lastFailure = time.GetTimestamp();
        _admittedSinceFailure = false;
        if (_short)
            return;
        _short = true;
        _since = _lastFailure;
        OutOfDescriptors(logger, listener, detail);
    }

    [LoggerMessage(EventId = 14, Level = LogLevel.Error,
        Message = "out of file descriptors on {Listener} ({Detail}): refusing new connections until some close; open connections are still served")]
    private static partial void OutOfDescriptors(ILogger logger, string listener, string detail);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information,
        Message = "accepting again on {Listener} after {Seconds:0.0} s out of file descriptors ({Failures} connection attempt(s) refused or left waiting meanwhile)")]
    private static partial void AcceptingAgain(ILogger logger, string listener, double seconds, long failures);
}
