using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One listener's view of running out of file descriptors (EMFILE/ENFILE from accept, or an
/// accepted socket inside the reserve): logged once when it starts and once when accepting
/// works again, however many attempts fail in between; accept backs off from 100 ms,
/// doubling to 1 s, while open connections keep being served.
/// </summary>
internal sealed partial class DescriptorShortage(string listener, ILogger logger, TimeProvider time)
{
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(1);

    private bool _short;
    private long _since;
    private long _failures;
    private TimeSpan _pause = FirstPause;

    public bool IsShort => _short;

    /// <summary>accept itself failed: logs if this starts a shortage; returns how long to pause.</summary>
    public TimeSpan AcceptFailed(string error)
    {
        Begin(error);
        var pause = _pause;
        _pause = TimeSpan.FromTicks(Math.Min(LongestPause.Ticks, _pause.Ticks * 2));
        return pause;
    }

    /// <summary>A socket was accepted inside the reserve and is being refused.</summary>
    public void Refused(long descriptor, long limit) =>
        Begin($"descriptor {descriptor} of {limit} is within the reserve kept for ferryd itself");

    /// <summary>A socket was accepted and kept: if short, that is over.</summary>
    public void Accepted()
    {
        if (!_short)
            return;
        _short = false;
        _pause = FirstPause;
        AcceptingAgain(logger, listener, time.GetElapsedTime(_since).TotalSeconds, _failures);
        _failures = 0;
    }

    private void Begin(string detail)
    {
        _failures++;
        if (_short)
            return;
        _short = true;
        _since = time.GetTimestamp();
        OutOfDescriptors(logger, listener, detail);
    }

    [LoggerMessage(EventId = 14, Level = LogLevel.Error,
        Message = "out of file descriptors on {Listener} ({Detail}): refusing new connections until some close; open connections are still served")]
    private static partial void OutOfDescriptors(ILogger logger, string listener, string detail);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information,
        Message = "accepting again on {Listener} after {Seconds:0.0} s out of file descriptors ({Failures} connection attempt(s) refused or left waiting meanwhile)")]
    private static partial void AcceptingAgain(ILogger logger, string listener, double seconds, long failures);
}
