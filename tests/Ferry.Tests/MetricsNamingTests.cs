using System.Diagnostics.Metrics;
using Ferry.Daemon.Metrics;

namespace Ferry.Tests;

/// <summary>Instrument names as Prometheus sees them, and what --metrics accepts.</summary>
public sealed class MetricsNamingTests
{
    private static readonly Meter Meter = new("Ferry.Tests.Naming");

    [Fact]
    public void NamesFollowOpenTelemetrysRulesForPrometheus()
    {
        Assert.Equal("ferry_connections_accepted_total", PrometheusNames.For(Meter.CreateObservableCounter("ferry.connections.accepted", () => 0L, "{connection}")));
        Assert.Equal("ferry_connections_active", PrometheusNames.For(Meter.CreateObservableUpDownCounter("ferry.connections.active", () => 0L, "{connection}")));
        Assert.Equal("ferry_connection_duration_seconds", PrometheusNames.For(Meter.CreateHistogram<double>("ferry.connection.duration", "s")));
        Assert.Equal("ferry_received_bytes_total", PrometheusNames.For(Meter.CreateObservableCounter("ferry.received", () => 0L, "By")));
        Assert.Equal("ferry_fanout_queue_size_bytes", PrometheusNames.For(Meter.CreateObservableUpDownCounter("ferry.fanout.queue.size", () => 0L, "By")));
        Assert.Equal("ferry_chat_lines_total", PrometheusNames.For(Meter.CreateCounter<long>("ferry.chat.lines")));
        Assert.Equal("ferry_up", PrometheusNames.For(Meter.CreateObservableGauge("ferry.up", () => 1L)));
    }

    [Fact]
    public void TheRuntimesCountsAreNamedForWhatTheyCountAndCurrentValuesAreGauges()
    {
        var threads = Meter.CreateObservableCounter("dotnet.thread_pool.thread.count", () => 2L, "{thread}");
        Assert.Equal("dotnet_thread_pool_threads", PrometheusNames.For(threads));
        Assert.False(PrometheusNames.IsCounter(threads));
        Assert.Equal("dotnet_thread_pool_work_items_total", PrometheusNames.For(Meter.CreateObservableCounter("dotnet.thread_pool.work_item.count", () => 0L)));
        Assert.Equal("dotnet_gc_pause_time_seconds_total", PrometheusNames.For(Meter.CreateObservableCounter("dotnet.gc.pause.time", () => 0.0, "s")));
        // A gauge Prometheus would read as a histogram's count is not exported at all.
        Assert.Null(PrometheusNames.For(Meter.CreateObservableGauge("something.count", () => 0L)));
    }

    [Theory]
    [InlineData("9100", "127.0.0.1", 9100)]
    [InlineData("0", "127.0.0.1", 0)]
    [InlineData("10.0.0.5:9100", "10.0.0.5", 9100)]
    [InlineData("[::1]:9100", "::1", 9100)]
    [InlineData("*:9100", null, 9100)]
    [InlineData("metrics.example:9100", "metrics.example", 9100)]
    public void MetricsAddressesAreLoopbackUnlessSaidOtherwise(string text, string? host, int port)
    {
        var address = MetricsAddress.Parse(text, out string? error);
        Assert.Null(error);
        Assert.Equal(new MetricsAddress(host, port), address);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("off")]
    [InlineData("OFF")]
    public void NothingOrOffMeansNoEndpoint(string? text)
    {
        Assert.Null(MetricsAddress.Parse(text, out string? error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("70000")]
    [InlineData("::1:9100")]
    [InlineData("[::1:9100")]
    [InlineData("host:")]
    [InlineData("-1")]
    public void MalformedAddressesAreErrors(string text)
    {
        Assert.Null(MetricsAddress.Parse(text, out string? error));
        Assert.NotNull(error);
    }
}
