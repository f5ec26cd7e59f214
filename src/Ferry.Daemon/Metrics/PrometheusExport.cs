using System.Diagnostics.Metrics;
using Prometheus;

namespace Ferry.Daemon.Metrics;

/// <summary>
/// ferryd's metrics in the Prometheus text format: the <c>Ferry</c> meter's instruments and the
/// runtime's (<c>System.Runtime</c>: GC, thread pool, CPU, memory), listened to with a
/// <see cref="MeterListener"/> and kept as prometheus-net metrics in a registry of their own,
/// plus prometheus-net's process metrics (process_cpu_seconds_total, open descriptors, start
/// time). prometheus-net writes the format; its own MeterAdapter is not used, because in 8.2.1
/// it exports every counter as a gauge, prefixes names with the meter's, drops units, and
/// resets series idle for five minutes (docs/observability.md).
/// </summary>
internal sealed class PrometheusExport : IDisposable
{
    public static readonly string[] Meters = [FerryMetrics.MeterName, "System.Runtime"];

    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly IMetricFactory _factory;
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly List<ExportedInstrument> _exported = [];
    private readonly SemaphoreSlim _collecting = new(1, 1);

    public PrometheusExport()
    {
        _factory = Prometheus.Metrics.WithCustomRegistry(_registry);
        DotNetStats.Register(_registry);
        _listener.InstrumentPublished = Publish;
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((ExportedInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((ExportedInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((ExportedInstrument)state!).Record(value, tags));
        // Touched here so that the Ferry meter's observable instruments exist before anyone scrapes.
        _ = FerryMetrics.Meter;
        _listener.Start();
        _registry.AddBeforeCollectCallback(Observe);
    }

    private void Publish(Instrument instrument, MeterListener listener)
    {
        if (!Meters.Contains(instrument.Meter.Name) || PrometheusNames.For(instrument) is not { } name)
            return;
        var exported = new ExportedInstrument(instrument, name, _factory);
        lock (_gate)
        {
            // Two instruments that would make one Prometheus name: the first keeps it.
            if (_exported.Any(e => e.Name == name))
                return;
            _exported.Add(exported);
        }
        listener.EnableMeasurementEvents(instrument, exported);
    }

    /// <summary>Each collection asks the observable instruments for their values now.</summary>
    private void Observe()
    {
        ExportedInstrument[] exported;
        lock (_gate)
            exported = [.. _exported];
        foreach (var instrument in exported)
            instrument.BeginCollection();
        try
        {
            // Every callback runs; one that throws fails this collection (the endpoint answers 500).
            _listener.RecordObservableInstruments();
        }
        finally
        {
            foreach (var instrument in exported)
                instrument.EndCollection();
        }
    }

    /// <summary>Writes every metric in the text exposition format (version 0.0.4); one collection at a time.</summary>
    public async Task WriteAsync(Stream output, CancellationToken cancellationToken)
    {
        await _collecting.WaitAsync(cancellationToken);
        try
        {
            await _registry.CollectAndExportAsTextAsync(output, cancellationToken);
        }
        finally
        {
            _collecting.Release();
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        _collecting.Dispose();
    }
}
