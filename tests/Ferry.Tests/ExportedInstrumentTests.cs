using System.Diagnostics.Metrics;
using System.Text;
using Ferry.Daemon.Metrics;

namespace Ferry.Tests;

/// <summary>An instrument's series as prometheus-net exports them: removed when no longer reported, restarted when a count starts again.</summary>
public sealed class ExportedInstrumentTests
{
    private static readonly Meter Meter = new("Ferry.Tests.Export");

    [Fact]
    public async Task SeriesNoLongerReportedAreRemovedAndACountThatStartsAgainIsANewSeries()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var instrument = Meter.CreateObservableCounter("test.accepted", () => 0L);
        var exported = new ExportedInstrument(instrument, "test_accepted_total", Prometheus.Metrics.WithCustomRegistry(registry));

        Collect(exported, ("a", 5), ("b", 7));
        string first = await TextAsync(registry);
        Assert.Contains("test_accepted_total{listener=\"a\"} 5", first);
        Assert.Contains("test_accepted_total{listener=\"b\"} 7", first);
        Assert.Contains("# TYPE test_accepted_total counter", first);

        Collect(exported, ("a", 3));
        string second = await TextAsync(registry);
        Assert.Contains("test_accepted_total{listener=\"a\"} 3", second);
        Assert.DoesNotContain("listener=\"b\"", second);
    }

    [Fact]
    public async Task AGaugeTakesTheValueReportedAndAHistogramItsAdvisedBuckets()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        var gauge = new ExportedInstrument(Meter.CreateObservableUpDownCounter("test.active", () => 0L), "test_active", factory);
        Collect(gauge, ("a", 4));
        Collect(gauge, ("a", 2));
        var histogram = Meter.CreateHistogram("test.duration", "s", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 5] });
        var durations = new ExportedInstrument(histogram, "test_duration_seconds", factory);
        durations.Record(0.1, [new("listener", "a")]);
        durations.Record(2, [new("listener", "a")]);

        string text = await TextAsync(registry);
        Assert.Contains("test_active{listener=\"a\"} 2", text);
        Assert.Contains("test_duration_seconds_bucket{listener=\"a\",le=\"0.5\"} 1", text);
        Assert.Contains("test_duration_seconds_bucket{listener=\"a\",le=\"5\"} 2", text);
        Assert.Contains("test_duration_seconds_count{listener=\"a\"} 2", text);
    }

    private static void Collect(ExportedInstrument exported, params (string Listener, long Value)[] values)
    {
        exported.BeginCollection();
        foreach (var (listener, value) in values)
            exported.Record(value, [new("listener", listener)]);
        exported.EndCollection();
    }

    private static async Task<string> TextAsync(Prometheus.CollectorRegistry registry)
    {
        using var text = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(text, TestContext.Current.CancellationToken);
        return Encoding.UTF8.GetString(text.ToArray());
    }
}
