using Microsoft.Extensions.Logging;
using ZLogger;
using ZLogger.Formatters;

namespace Ferry.Daemon.Logging;

/// <summary>
/// A log line: local time with its offset, the level in three letters, the message, and an
/// exception's text on the lines after it. Peer-supplied text in messages is escaped where it
/// is logged (<see cref="Connections.ReceivedLineLog"/>), so a line is always one line.
/// </summary>
internal static class LineFormat
{
    public static void Configure(PlainTextZLoggerFormatter formatter)
    {
        formatter.SetPrefixFormatter($"{0} [{1}] ",
            (in MessageTemplate template, in LogInfo info) => template.Format(new LogTimestamp(info.Timestamp.Local), Tag(info.LogLevel)));
    }

    public static string Tag(LogLevel level) => level switch
    {
        LogLevel.Trace => "VRB",
        LogLevel.Debug => "DBG",
        LogLevel.Information => "INF",
        LogLevel.Warning => "WRN",
        LogLevel.Error => "ERR",
        _ => "FTL",
    };
}
