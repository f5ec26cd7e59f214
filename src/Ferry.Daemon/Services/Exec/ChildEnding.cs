using Ferry.Platform.Linux;

namespace Ferry.Daemon.Services.Exec;

/// <summary>
/// Ends a program that does not end by itself: TERM to its process group when the earliest
/// reason asked (the client gone and killGrace passed, the timeout, ferryd stopping), then KILL
/// killGrace after the TERM. Whatever asks later only brings the TERM forward, never back.
/// </summary>
internal sealed class ChildEnding(ChildProcess child, TimeSpan killGrace) : IDisposable
{
    private readonly Lock _gate = new();
    private Timer? _termTimer;
    private Timer? _killTimer;
    private long _termDue = long.MaxValue;
    private string _because = "";
    private bool _termSent;
    private bool _disposed;

    /// <summary>TERM after <paramref name="delay"/> (zero: now) unless one is due sooner already.</summary>
    public void TerminateAfter(TimeSpan delay, string because)
    {
        lock (_gate)
        {
            if (_disposed || _termSent)
                return;
            long due = Environment.TickCount64 + (long)delay.TotalMilliseconds;
            if (due >= _termDue)
                return;
            _termDue = due;
            _because = because;
            if (delay <= TimeSpan.Zero)
            {
                SendTerm();
                return;
            }
            _termTimer ??= new Timer(static state => ((ChildEnding)state!).OnTermDue(), this, Timeout.Infinite, Timeout.Infinite);
            _termTimer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnTermDue()
    {
        lock (_gate)
        {
            if (!_disposed && !_termSent)
                SendTerm();
        }
    }

    private void SendTerm()
    {
        _termSent = true;
        child.SignalGroup(SignalNumber.Terminate, _because);
        if (killGrace <= TimeSpan.Zero)
        {
            SendKill();
            return;
        }
        _killTimer = new Timer(static state => ((ChildEnding)state!).OnKillDue(), this, killGrace, Timeout.InfiniteTimeSpan);
    }

    private void OnKillDue()
    {
        lock (_gate)
        {
            if (!_disposed)
                SendKill();
        }
    }

    private void SendKill() =>
        child.SignalGroup(SignalNumber.Kill, $"killGrace {killGrace.TotalSeconds:0.###} s after TERM ({_because})");

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _termTimer?.Dispose();
            _killTimer?.Dispose();
        }
    }
}
