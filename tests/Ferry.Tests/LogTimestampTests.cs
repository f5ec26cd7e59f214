using System.Text;
using Ferry.Daemon.Logging;

namespace Ferry.Tests;

public sealed class LogTimestampTests
{
    [Fact]
    public void WritesTheLocalTimeAcrossMillisecondsSecondsDaysAndYears()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("plus 5:30", TimeSpan.FromHours(5.5), "plus 5:30", "plus 5:30");
        var timestamps = new LogTimestamp(zone);
        // 23:59:58 local on the last day of the year: the same second many times (the cached
        // part), then the next seconds, a new day and a new year.
        var start = new DateTime(2026, 12, 31, 18, 29, 58, DateTimeKind.Utc);
        foreach (int ms in new[] { 0, 7, 42, 999, 1000, 1001, 1999, 2000, 2500 })
            AssertWrites(timestamps, zone, start.AddMilliseconds(ms));
    }

    [Fact]
    public void FollowsTheOffsetWhenTheZoneChangesIt()
    {
        // Standard time +01:00, summer time +02:00 from the last Sunday of March, 02:00 local
        // (2026-03-29 01:00 UTC) until the last Sunday of October.
        var rule = TimeZoneInfo.AdjustmentRule.CreateAdjustmentRule(DateTime.MinValue.Date, DateTime.MaxValue.Date, TimeSpan.FromHours(1),
            TimeZoneInfo.TransitionTime.CreateFloatingDateRule(new DateTime(1, 1, 1, 2, 0, 0), 3, 5, DayOfWeek.Sunday),
            TimeZoneInfo.TransitionTime.CreateFloatingDateRule(new DateTime(1, 1, 1, 3, 0, 0), 10, 5, DayOfWeek.Sunday));
        var zone = TimeZoneInfo.CreateCustomTimeZone("summer", TimeSpan.FromHours(1), "summer", "standard", "summer", [rule]);
        var timestamps = new LogTimestamp(zone);
        var lastStandard = new DateTime(2026, 3, 29, 0, 59, 59, 999, DateTimeKind.Utc);

        Assert.Equal("2026-03-29 01:59:59.999 +01:00", Write(timestamps, lastStandard));
        Assert.Equal("2026-03-29 03:00:00.000 +02:00", Write(timestamps, lastStandard.AddMilliseconds(1)));
        AssertWrites(timestamps, zone, lastStandard.AddMilliseconds(1001));
    }

    private static void AssertWrites(LogTimestamp timestamps, TimeZoneInfo zone, DateTime utc) =>
        Assert.Equal(TimeZoneInfo.ConvertTime(new DateTimeOffset(utc), zone).ToString("yyyy-MM-dd HH:mm:ss.fff zzz"), Write(timestamps, utc));

    private static string Write(LogTimestamp timestamps, DateTime utc)
    {
        var destination = new byte[LogTimestamp.Length + 8];
        destination.AsSpan().Fill((byte)'#');
        timestamps.Write(utc, destination);
        // Exactly its length: what follows in the line is not touched.
        Assert.Equal("########", Encoding.ASCII.GetString(destination, LogTimestamp.Length, 8));
        return Encoding.ASCII.GetString(destination, 0, LogTimestamp.Length);
    }
}
