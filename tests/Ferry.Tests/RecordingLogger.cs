using Microsoft.Extensions.Logging;

namespace Ferry.Tests;

/// <summary>
/// An ILogger that keeps every line it is given, with its level, for tests that count log lines.
/// It says levels below <paramref name="minimum"/> are off, but keeps whatever it is given: a
/// caller that does not ask is seen.
/// </summary>
internal sealed class RecordingLogger(LogLevel minimum = LogLevel.Trace) : ILogger
{
    private readonly List<(LogLevel Level, string Text)> _lines = [];

    public IReadOnlyList<(LogLevel Level, string Text)> Lines
    {
        get
        {
            lock (_lines)
                return _lines.ToArray();
        }
    }

    public int Count(LogLevel level, string containing) => Lines.Count(l => l.Level == level && l.Text.Contains(containing, StringComparison.Ordinal));

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines)
            _lines.Add((logLevel, formatter(state, exception)));
    }
}
