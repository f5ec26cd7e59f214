using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Logging;

/// <summary>
/// The seed's five levels (Debug, Info, Warning, Error, Fatal) as names on the command line
/// and in per-level file names, mapped to Microsoft.Extensions.Logging levels.
/// </summary>
internal static class LogLevelNames
{
    /// <summary>The five, lowest first; also the per-level files' middle names (ferryd.info.log).</summary>
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
    public static string Name(LogLevel level) => All[Index(level)];

    /// <summary>Where <paramref name="level"/> is in <see cref="All"/> (Trace counts as debug).</summary>
    public static int Index(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => 0,
        LogLevel.Information => 1,
        LogLevel.Warning => 2,
        LogLevel.Error => 3,
        _ => 4,
    };
}
