namespace Ferry.Daemon.Logging;

/// <summary>Where ferryd's log goes, as the seed's logger offered: screen, one file, one file per level.</summary>
internal enum LogTargetKind
{
    Console,
    File,
    FilePerLevel,
}

/// <summary>The logging choices from the command line and the config file.</summary>
internal sealed record LogSettings(Microsoft.Extensions.Logging.LogLevel MinimumLevel, LogTargetKind Target, string? Path)
{
    /// <summary>
    /// Whether a connection's open line is logged at Info (<c>Logging:OpenLines</c>) or, by
    /// default, at Debug: the close line, at Info, names everything the open line does.
    /// </summary>
    public bool OpenLines { get; init; }

    public Microsoft.Extensions.Logging.LogLevel OpenLineLevel =>
        OpenLines ? Microsoft.Extensions.Logging.LogLevel.Information : Microsoft.Extensions.Logging.LogLevel.Debug;

    public static LogSettings ConsoleAt(Microsoft.Extensions.Logging.LogLevel level) => new(level, LogTargetKind.Console, null);
}
