using ZLogger;

namespace Ferry.Daemon.Logging;

/// <summary>
/// Hands each line to its level's <see cref="LogFile"/>: five files for a file per level, the
/// same one five times otherwise. Lines are formatted where they are logged, not queued for a
/// background writer: nothing to wake per line, and a line is in its file's buffer, in order,
/// when the logging call returns.
/// </summary>
internal sealed class LevelRouting(LogFile[] byLevel) : IAsyncLogProcessor
{
    public void Post(IZLoggerEntry log)
    {
        try
        {
            byLevel[LogLevelNames.Index(log.LogInfo.LogLevel)].Append(log);
        }
        finally
        {
            log.Return();
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
