using Microsoft.Extensions.Logging;
using Serilog.Events;

namespace Ferry.Daemon.Logging;

/// <summary>
/// The seed's five levels (Debug, Info, Warning, Error, Fatal) as names on the command line
/// and in per-level file names, mapped to Microsoft.Extensions.Logging and Serilog levels.
/// </summary>
internal static class LogLevelNames
{
    public static readonly string[] All = ["debug", "info", "warning", "error", "fatal"];

    public static bool TryParse(string text, out LogLevel level)
    {
        level = text.ToLowerInvariant() switch
        {
            "debug" => LogLevel.Debug,
            "info" or "information" => LogLevel.Information,
            "warning" or "warn" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "fatal" or "critical" => LogLevel.Critical,
            _ => LogLevel.None,
        };
        return level != LogLevel.None;
    }

    /// <summary>The name a user writes for <paramref name="level"/> (--log-level, Logging:Level).</summary>
    public static string Name(LogLevel level) => FileName(ToSerilog(level));

    public static LogEventLevel ToSerilog(LogLevel level) => level switch
    {
        LogLevel.Trace => LogEventLevel.Verbose,
        LogLevel.Debug => LogEventLevel.Debug,
        LogLevel.Information => LogEventLevel.Information,
        LogLevel.Warning => LogEventLevel.Warning,
        LogLevel.Error => LogEventLevel.Error,
        _ => LogEventLevel.Fatal,
    };

    /// <summary>The per-level file's middle name: ferryd.info.log, ferryd.error.log, ...</summary>
    public static string FileName(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose or LogEventLevel.Debug => "debug",
        LogEventLevel.Information => "info",
        LogEventLevel.Warning => "warning",
        LogEventLevel.Error => "error",
        _ => "fatal",
    };
}
