namespace Ferry.Daemon.Logging;

/// <summary>Where ferryd's log goes, as the seed's logger offered: screen, one file, one file per level.</summary>
internal enum LogTargetKind
{
    Console,
    File,
    FilePerLevel,
}

/// <summary>The logging choices from the command line.</summary>
internal sealed record LogSettings(Microsoft.Extensions.Logging.LogLevel MinimumLevel, LogTargetKind Target, string? Path)
{
    public static LogSettings ConsoleAt(Microsoft.Extensions.Logging.LogLevel level) => new(level, LogTargetKind.Console, null);
}
