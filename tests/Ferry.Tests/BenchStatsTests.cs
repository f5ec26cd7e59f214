using System.Diagnostics;

namespace Ferry.Tests;

/// <summary>ferry bench's latency and rate arithmetic, on known inputs.</summary>
public sealed class BenchStatsTests
{
    [Fact]
    public void PercentilesOfOneToOneThousandMicroseconds()
    {
        var histogram = LatencyHistogram.Create();
        for (int us = 1; us <= 1000; us++)
            LatencyHistogram.RecordNanoseconds(histogram, us * 1000L);

        LatencySummary summary = LatencySummary.From(histogram)!;

        // Three significant digits: each figure is within 0.1% of the exact rank.
        Assert.Equal(1000, summary.Count);
        Assert.InRange(summary.P50, 499.5, 500.5);
        Assert.InRange(summary.P90, 899.1, 900.9);
        Assert.InRange(summary.P99, 989.0, 991.0);
        Assert.InRange(summary.P999, 998.0, 1001.0);
        Assert.InRange(summary.Max, 999.0, 1001.0);
        Assert.InRange(summary.Mean, 500.0, 501.0);
    }

    [Fact]
    public void OneSlowMessageInAThousandShowsAtP999AndMaxOnly()
    {
        var histogram = LatencyHistogram.Create();
        for (int i = 0; i < 999; i++)
            LatencyHistogram.RecordNanoseconds(histogram, 20_000);
        LatencyHistogram.RecordNanoseconds(histogram, 50_000_000);

        LatencySummary summary = LatencySummary.From(histogram)!;

        Assert.InRange(summary.P50, 19.9, 20.1);
        Assert.InRange(summary.P99, 19.9, 20.1);
        Assert.InRange(summary.P999, 19.9, 20.1);
        Assert.InRange(summary.Max, 49_950, 50_050);
    }

    [Fact]
    public void AnEmptyHistogramHasNoSummary()
    {
        Assert.Null(LatencySummary.From(LatencyHistogram.Create()));
    }

    [Fact]
    public void ValuesOutsideTheRangeAreClampedNotLost()
    {
        var histogram = LatencyHistogram.Create();

        LatencyHistogram.RecordNanoseconds(histogram, 0);
        LatencyHistogram.RecordNanoseconds(histogram, -5);
        LatencyHistogram.RecordNanoseconds(histogram, LatencyHistogram.HighestNanoseconds * 10);

        Assert.Equal(3, histogram.TotalCount);
        LatencySummary summary = LatencySummary.From(histogram)!;
        Assert.InRange(summary.Max, LatencyHistogram.HighestNanoseconds / 1000 * 0.999, LatencyHistogram.HighestNanoseconds / 1000 * 1.001);
    }

    [Fact]
    public void MergingAddsEveryConnectionsCounts()
    {
        var fast = LatencyHistogram.Create();
        var slow = LatencyHistogram.Create();
        for (int i = 0; i < 900; i++)
            LatencyHistogram.RecordNanoseconds(fast, 10_000);
        for (int i = 0; i < 100; i++)
            LatencyHistogram.RecordNanoseconds(slow, 1_000_000);

        LatencySummary summary = LatencySummary.From(LatencyHistogram.Merge([fast, slow]))!;

        Assert.Equal(1000, summary.Count);
        Assert.InRange(summary.P50, 9.99, 10.01);
        Assert.InRange(summary.P90, 9.99, 10.01);
        Assert.InRange(summary.P99, 999, 1001);
    }

    [Fact]
    public void ElapsedStopwatchTicksAreRecordedAsNanoseconds()
    {
        var histogram = LatencyHistogram.Create();
        long oneMillisecond = Stopwatch.Frequency / 1000;

        LatencyHistogram.RecordElapsed(histogram, 1000, 1000 + oneMillisecond);

        Assert.InRange(LatencySummary.From(histogram)!.P50, 999, 1001);
    }

    [Fact]
    public void RatesAreCountsOverTheMeasuredTime()
    {
        var settings = new BenchSettings("127.0.0.1", new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 7),
            BenchMode.PingPong, 1, TimeSpan.FromSeconds(2), TimeSpan.Zero, 64, null, null);
        var report = new BenchReport(settings, TimeSpan.FromSeconds(2), 10_000, 3_000_000, 0, 0, null, null,
            null, null, null, 0, 0);

        Assert.Equal(5000, report.MessagesPerSecond);
        Assert.Equal(1.5, report.MegabytesPerSecond);
        Assert.False(report.Failed);
    }

    [Fact]
    public void IdleMemoryIsTheRssGrowthPerHeldConnection()
    {
        var settings = new BenchSettings("127.0.0.1", new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 7),
            BenchMode.Idle, 1000, TimeSpan.FromSeconds(1), TimeSpan.Zero, 64, null, 1);
        var report = new BenchReport(settings, TimeSpan.FromSeconds(1), 1000, 64_000, 0, 0, null, null,
            IdleConnections: 1000, ServerRssBefore: 10_000_000, ServerRssAfter: 18_192_000, 0, 0);

        Assert.Equal(8192, report.ServerBytesPerConnection);
    }

    [Fact]
    public void TheOpenLoopScheduleAdvancesByOneIntervalWhateverTheServerDoes()
    {
        var schedule = new SendSchedule(firstTimestamp: 1000, messagesPerSecond: 1000);
        long interval = Stopwatch.Frequency / 1000;

        Assert.Equal(1000, schedule.TakeNext());
        Assert.Equal(1000 + interval, schedule.TakeNext());
        Assert.Equal(1000 + 2 * interval, schedule.TakeNext());
    }

    [Fact]
    public void TotalsSumEveryConnection()
    {
        var a = new ConnectionTally(recordsLatency: false);
        var b = new ConnectionTally(recordsLatency: false);
        a.CountMessage(64);
        b.CountMessage(64);
        b.CountMessage(64);
        b.CountError("reset");

        BenchTotals totals = BenchTotals.Sum([a, b]);

        Assert.Equal(new BenchTotals(3, 192, 1, 0), totals);
    }
}
