using Ferry.Daemon.Connections;
using Ferry.Daemon.Logging;
using Microsoft.Extensions.Logging;

namespace Ferry.Tests;

/// <summary>Which of a connection's lines its listener's <see cref="ConnectionLog"/> writes, by the logger's level.</summary>
public sealed class ConnectionLogTests
{
    private static readonly LoggedName Listener = new("echo 127.0.0.1:7");

    [Theory]
    [InlineData(LogLevel.Debug, LogLevel.Debug, true, true, true)]
    [InlineData(LogLevel.Information, LogLevel.Debug, false, true, false)]
    [InlineData(LogLevel.Information, LogLevel.Information, true, true, false)]
    [InlineData(LogLevel.Warning, LogLevel.Information, false, false, false)]
    public void WritesTheLinesTheLoggersLevelLetsThrough(LogLevel minimum, LogLevel openLineLevel, bool opens, bool closes, bool clientSays)
    {
        var logger = new RecordingLogger(minimum);
        var log = new ConnectionLog(logger, Listener, openLineLevel);

        log.Opened("127.0.0.1:5000", 0x2a);
        log.Closed("127.0.0.1:5000", 0x2a, CloseReason.PeerClosed, 1, 2, 3, null);

        Assert.Equal(opens ? 1 : 0, logger.Count(openLineLevel, "open 127.0.0.1:5000 on echo 127.0.0.1:7 [2a]"));
        Assert.Equal(closes ? 1 : 0, logger.Count(LogLevel.Information, "close 127.0.0.1:5000 on echo 127.0.0.1:7 [2a]: peer closed, in 1 B, out 2 B, 3 ms"));
        Assert.Equal(clientSays, log.ClientSays("127.0.0.1:5000") is not null);
    }
}
