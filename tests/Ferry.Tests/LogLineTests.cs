using System.Text.RegularExpressions;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Logging;
using Microsoft.Extensions.Logging;

namespace Ferry.Tests;

/// <summary>
/// What ferryd's logger provider writes to a file: the connection lines written straight to
/// UTF-8, any other message through its string, and an exception after its line.
/// </summary>
public sealed partial class LogLineTests : IDisposable
{
    private const string Time = @"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d";

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("ferry-log-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void TheConnectionLinesReadAsBeforeWhetherWrittenStraightOrAsStrings()
    {
        var (text, logger) = LogTo(TestContext.Current.TestMethod!.MethodName);
        Log.ConnectionOpened(logger, LogLevel.Information, "127.0.0.1:5000", new LoggedName("echo 127.0.0.1:7"), 0x2a);
        Log.ConnectionClosed(logger, "127.0.0.1:5000", new LoggedName("echo 127.0.0.1:7"), 0x2a, CloseReason.PeerClosed, 64, 65, 3, null);
        Log.ConnectionClosed(logger, "[::1]:5001", new LoggedName("fwd [::1]:8"), 0x2b, CloseReason.PeerClosed, 1, 2, 3, "upstream 127.0.0.1:9 closed first");

        string[] lines = text().Split('\n');
        Assert.Equal(4, lines.Length); // and the last line's end
        Assert.Matches($"^{Time} \\[INF\\] open 127\\.0\\.0\\.1:5000 on echo 127\\.0\\.0\\.1:7 \\[2a\\]$", lines[0]);
        Assert.Matches($"^{Time} \\[INF\\] close 127\\.0\\.0\\.1:5000 on echo 127\\.0\\.0\\.1:7 \\[2a\\]: peer closed, in 64 B, out 65 B, 3 ms$", lines[1]);
        Assert.EndsWith(" [INF] close [::1]:5001 on fwd [::1]:8 [2b]: peer closed, in 1 B, out 2 B, 3 ms; upstream 127.0.0.1:9 closed first", lines[2]);
        Assert.Equal("", lines[3]);

        // Another logger gets the same text from the formatter.
        var recording = new RecordingLogger();
        Log.ConnectionOpened(recording, LogLevel.Information, "127.0.0.1:5000", new LoggedName("echo 127.0.0.1:7"), 0x2a);
        Log.ConnectionClosed(recording, "[::1]:5001", new LoggedName("fwd [::1]:8"), 0x2b, CloseReason.PeerClosed, 1, 2, 3, "upstream 127.0.0.1:9 closed first");
        Assert.Equal([lines[0][(lines[0].IndexOf("] ", StringComparison.Ordinal) + 2)..], lines[2][(lines[2].IndexOf("] ", StringComparison.Ordinal) + 2)..]],
            recording.Lines.Select(l => l.Text));
    }

    [Fact]
    public void AConnectionLineGivenAnotherFormatterIsWrittenByThatFormatter()
    {
        var (text, logger) = LogTo(TestContext.Current.TestMethod!.MethodName);
        logger.Log(LogLevel.Information, new EventId(10), new ConnectionLines.Opened("127.0.0.1:5000", new LoggedName("echo 127.0.0.1:7"), 1), null,
            (line, _) => $"someone else's format for {line.Peer}");

        Assert.EndsWith(" [INF] someone else's format for 127.0.0.1:5000\n", text());
    }

    [Fact]
    public void AStateTypeHasOneFormat()
    {
        _ = new TestFormat();
        var second = Assert.Throws<InvalidOperationException>(() => new TestFormat());
        Assert.Equal("TestState has a format already", second.Message);
    }

    private readonly record struct TestState(int Value);

    private sealed class TestFormat : Utf8MessageFormat<TestState>
    {
        public override bool TryWrite(in TestState state, Span<byte> destination, out int written)
        {
            written = 0;
            return true;
        }
    }

    [Fact]
    public void AMessageLongerThanTheUsualRoomIsWrittenWhole()
    {
        var (text, logger) = LogTo(TestContext.Current.TestMethod!.MethodName);
        // Longer than all the room the file's buffer has (64 KiB): tried again in more room, twice.
        string peer = "unix:/run/" + new string('é', 100_000);
        Log.ConnectionOpened(logger, LogLevel.Information, peer, new LoggedName("echo unix:/run/ferry.sock"), 7);
        Log.ConnectionOpened(logger, LogLevel.Information, "127.0.0.1:5000", new LoggedName("echo 127.0.0.1:7"), 8);

        string[] lines = text().Split('\n');
        Assert.EndsWith($" [INF] open {peer} on echo unix:/run/ferry.sock [7]", lines[0]);
        Assert.EndsWith(" [INF] open 127.0.0.1:5000 on echo 127.0.0.1:7 [8]", lines[1]);
    }

    [Fact]
    public void OtherMessagesGoThroughTheirStringAndAnExceptionFollowsItsLine()
    {
        var (text, logger) = LogTo(TestContext.Current.TestMethod!.MethodName);
        Failed(logger, new InvalidOperationException("the reason"), "ünïcode");
        Said(logger, "after");

        string written = text();
        Assert.Matches($"^{Time} \\[ERR\\] it failed: ünïcode\nSystem.InvalidOperationException: the reason\n{Time} \\[WRN\\] said after\n$", written);
    }

    /// <summary>A logger factory with ferryd's provider writing to one file, and what the file holds once it is closed.</summary>
    private (Func<string> Text, ILogger Logger) LogTo(string name)
    {
        string path = Path.Combine(_directory.FullName, name + ".log");
        var file = LogFile.Open(path, out int errno) ?? throw new IOException($"errno {errno}");
        var loggers = LoggerFactory.Create(builder => builder.AddProvider(new LevelRouting([file, file, file, file, file])));
        return (() =>
        {
            loggers.Dispose();
            file.Dispose();
            return File.ReadAllText(path);
        }, loggers.CreateLogger("test"));
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "it failed: {What}")]
    private static partial void Failed(ILogger logger, Exception exception, string what);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "said {What}")]
    private static partial void Said(ILogger logger, string what);
}

public sealed class Utf8LineWriterTests
{
    [Fact]
    public void WritesTextNumbersAndHexAsTheirStringsWould()
    {
        var room = new byte[64];
        var text = new Utf8LineWriter(room);
        text.Append("ascii "u8);
        text.Append("naïve ");
        text.Append(-42);
        text.Append(" "u8);
        text.Append(long.MaxValue);
        text.Append(" "u8);
        text.AppendHex(0x1f2e);

        Assert.True(text.TryFinish(out int written));
        Assert.Equal($"ascii naïve -42 {long.MaxValue} 1f2e", System.Text.Encoding.UTF8.GetString(room, 0, written));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(0xfL)]
    [InlineData(0x10L)]
    [InlineData(0xabcdefL)]
    [InlineData(long.MaxValue)]
    [InlineData(-1L)]
    public void HexIsWhatTheStringFormatWrites(long value)
    {
        var room = new byte[16];
        var text = new Utf8LineWriter(room);
        text.AppendHex(value);

        Assert.True(text.TryFinish(out int written));
        Assert.Equal(value.ToString("x"), System.Text.Encoding.ASCII.GetString(room, 0, written));
        var tooShort = new Utf8LineWriter(new byte[written - 1]);
        tooShort.AppendHex(value);
        Assert.False(tooShort.TryFinish(out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(9)]
    public void TooLittleRoomAnywhereIsToldAtTheEnd(int room)
    {
        // 10 bytes are needed: "ab" (2), "é" (2), 12345 (5), "!" (1).
        var text = new Utf8LineWriter(new byte[room]);
        text.Append("ab"u8);
        text.Append("é");
        text.Append(12345);
        text.Append("!"u8);

        Assert.False(text.TryFinish(out int written));
        Assert.Equal(0, written);
    }
}
