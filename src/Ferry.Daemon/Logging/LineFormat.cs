using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Logging;

/// <summary>
/// A log line: local time with its offset (<see cref="LogTimestamp"/>), the level in three
/// letters, the message, and an exception's text on the lines after it (<see cref="LogFile.Append{TState}"/>).
/// Peer-supplied text in messages is escaped where it is logged (<see cref="Connections.ReceivedLineLog"/>),
/// so a line is always one line.
/// </summary>
internal static class LineFormat
{
    /// <summary>What goes between the time and the message: " [INF] ".</summary>
    public static ReadOnlySpan<byte> Tag(LogLevel level) => level switch
    {
        LogLevel.Trace => " [VRB] "u8,
        LogLevel.Debug => " [DBG] "u8,
        LogLevel.Information => " [INF] "u8,
        LogLevel.Warning => " [WRN] "u8,
        LogLevel.Error => " [ERR] "u8,
        _ => " [FTL] "u8,
    };
}
