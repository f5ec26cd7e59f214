using Serilog.Core;
using Serilog.Events;

namespace Ferry.Daemon.Logging;

/// <summary>
/// A file sink that can close and reopen its file (SIGUSR1), so logrotate can move the
/// file away and ferryd continues in a fresh one at the original path. Writes and the
/// reopen share one lock, so no event goes to a closed file.
/// </summary>
internal sealed class ReopenableSink(Func<Logger> open) : ILogEventSink, IDisposable
{
    private readonly Lock _gate = new();
    private Logger _current = open();

    public void Emit(LogEvent logEvent)
    {
        lock (_gate)
            _current.Write(logEvent);
    }

    public void Reopen()
    {
        lock (_gate)
        {
            _current.Dispose();
            _current = open();
        }
    }

    public void Dispose()
    {
        lock (_gate)
            _current.Dispose();
    }
}
