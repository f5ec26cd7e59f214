using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Logging;

/// <summary>
/// ferryd's logger provider: hands each line to its level's <see cref="LogFile"/> (five files for
/// a file per level, the same one five times otherwise). Lines are formatted where they are
/// logged, not queued for a background writer: nothing to wake per line, and a line is in its
/// file's buffer, in order, when the logging call returns. Which levels and categories get here
/// is the logger factory's filters' call; categories are not written.
/// </summary>
internal sealed class LevelRouting(LogFile[] byLevel) : ILoggerProvider, ILogger
{
    public ILogger CreateLogger(string categoryName) => this;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel != LogLevel.None)
            byLevel[LogLevelNames.Index(logLevel)].Append(logLevel, in state, exception, formatter);
    }

    /// <summary>The files are the owner's (<see cref="LogOutput"/>) to write out and close.</summary>
    public void Dispose()
    {
    }
}
