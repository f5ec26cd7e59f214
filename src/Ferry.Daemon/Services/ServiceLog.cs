using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services;

/// <summary>Log messages of the many-client services (chat, broker, sink); event ids 40-69.</summary>
internal static partial class ServiceLog
{
    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "{Service}: cut off {Peer} as a slow consumer: {Reason}")]
    public static partial void SlowConsumer(ILogger logger, string service, string peer, string reason);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "{Service}: line from {Peer} longer than {MaxLine} bytes, {Action}")]
    public static partial void LineTooLong(ILogger logger, string service, string peer, int maxLine, string action);

    [LoggerMessage(EventId = 50, Level = LogLevel.Error, Message = "sink: cannot write {Path}: {Reason}; holding lines and retrying")]
    public static partial void SinkWriteFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 51, Level = LogLevel.Information, Message = "sink: writing {Path} again")]
    public static partial void SinkRecovered(ILogger logger, string path);

    [LoggerMessage(EventId = 52, Level = LogLevel.Information, Message = "sink: reopened {Path}")]
    public static partial void SinkReopened(ILogger logger, string path);

    [LoggerMessage(EventId = 53, Level = LogLevel.Warning, Message = "sink: {Path} is gone from its directory; reopening it")]
    public static partial void SinkFileVanished(ILogger logger, string path);

    [LoggerMessage(EventId = 54, Level = LogLevel.Error, Message = "sink: gave up writing {Path} at shutdown: {Lines} lines lost ({Reason})")]
    public static partial void SinkLinesLost(ILogger logger, string path, long lines, string reason);

    [LoggerMessage(EventId = 55, Level = LogLevel.Warning, Message = "sink: dropped an unterminated line of {Bytes} bytes from {Peer} ({Why})")]
    public static partial void SinkPartialDropped(ILogger logger, string peer, long bytes, string why);

    [LoggerMessage(EventId = 56, Level = LogLevel.Error, Message = "sink: cannot fsync {Path}: {Reason}")]
    public static partial void SinkSyncFailed(ILogger logger, string path, string reason);
}
