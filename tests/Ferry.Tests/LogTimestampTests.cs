using System.Text;
using Ferry.Daemon.Logging;

namespace Ferry.Tests;

public sealed class LogTimestampTests
{
    [Fact]
    public void WritesWhatTheCustomFormatWrites_AcrossMillisecondsSecondsAndOffsets()
    {
        var start = new DateTimeOffset(2026, 12, 31, 23, 59, 58, TimeSpan.FromHours(5.5));
        // The same second many times (the cached part), then the next seconds, a new day and year.
        foreach (int ms in new[] { 0, 7, 42, 999, 1000, 1001, 1999, 2000, 2500 })
            AssertSame(start.AddMilliseconds(ms));
        AssertSame(new DateTimeOffset(2026, 3, 29, 1, 59, 59, 999, TimeSpan.Zero));
        AssertSame(new DateTimeOffset(2026, 3, 29, 1, 59, 59, 999, TimeSpan.FromHours(-7)));
    }

    [Fact]
    public void ADestinationTooShortIsRefused()
    {
        Assert.False(new LogTimestamp(DateTimeOffset.Now).TryFormat(new byte[LogTimestamp.Length - 1], out int written, default, null));
        Assert.Equal(0, written);
    }

    private static void AssertSame(DateTimeOffset time)
    {
        var bytes = new byte[64];
        Assert.True(new LogTimestamp(time).TryFormat(bytes, out int written, default, null));
        Assert.Equal(time.ToString("yyyy-MM-dd HH:mm:ss.fff zzz"), Encoding.ASCII.GetString(bytes, 0, written));
    }
}
