using System.Diagnostics.Metrics;
using System.Globalization;
using Prometheus;

namespace Ferry.Daemon.Metrics;

/// <summary>
/// One System.Diagnostics.Metrics instrument as a prometheus-net metric: counters as counters
/// (an observable one moved up to what it reports), up-down counters and gauges as gauges,
/// histograms as histograms with the instrument's advised buckets. An observable counter that
/// reports less than before started again, and is exported as a new series from zero. The Prometheus metric is made
/// at the first measurement, with that measurement's tag names as its labels (each of ferryd's
/// instruments always has the same); a measurement with other tags is not exported.
/// Series an observable instrument stops reporting (a listener removed by a reload) are removed.
/// </summary>
internal sealed class ExportedInstrument(Instrument instrument, string name, IMetricFactory factory)
{
    private readonly Lock _gate = new();
    private readonly bool _observable = instrument.IsObservable;
    private readonly bool _counter = PrometheusNames.IsCounter(instrument);
    private readonly bool _histogram = PrometheusNames.IsHistogram(instrument);
    private string[]? _tagNames;
    private Collector? _metric;
    private HashSet<string[]>? _reported;

    public string Name => name;

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_gate)
        {
            var metric = _metric ??= Create(tags);
            if (!HasTagNames(tags))
                return;
            string[] labels = LabelValues(tags);
            switch (metric)
            {
                case Histogram histogram:
                    histogram.WithLabels(labels).Observe(value);
                    break;
                case Counter counter when _observable:
                    var child = counter.WithLabels(labels);
                    if (value < child.Value)
                    {
                        // The count started again (a service a reload replaced): a new series from 0,
                        // which Prometheus's rate() reads as a counter reset, as it should.
                        counter.RemoveLabelled(labels);
                        child = counter.WithLabels(labels);
                    }
                    child.IncTo(value);
                    break;
                case Counter counter:
                    counter.WithLabels(labels).Inc(value);
                    break;
                case Gauge gauge when _observable:
                    gauge.WithLabels(labels).Set(value);
                    break;
                case Gauge gauge:
                    gauge.WithLabels(labels).Inc(value);
                    break;
            }
            _reported?.Add(labels);
        }
    }

    /// <summary>Before the observable instruments report: remember which series they report this time.</summary>
    public void BeginCollection()
    {
        if (!_observable)
            return;
        lock (_gate)
            _reported = new HashSet<string[]>(LabelValuesComparer.Instance);
    }

    /// <summary>After they reported: series not reported any more are gone (their listener, upstream or file is).</summary>
    public void EndCollection()
    {
        if (!_observable)
            return;
        lock (_gate)
        {
            if (_reported is null)
                return;
            var series = _metric switch
            {
                Counter counter => counter.GetAllLabelValues(),
                Gauge gauge => gauge.GetAllLabelValues(),
                _ => [],
            };
            foreach (var labels in series.ToArray())
            {
                if (labels.Length == 0 || _reported.Contains(labels))
                    continue;
                if (_metric is Counter counter)
                    counter.RemoveLabelled(labels);
                else if (_metric is Gauge gauge)
                    gauge.RemoveLabelled(labels);
            }
            _reported = null;
        }
    }

    private Collector Create(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var tagNames = new string[tags.Length];
        for (int i = 0; i < tags.Length; i++)
            tagNames[i] = tags[i].Key;
        _tagNames = tagNames;
        string[] labelNames = [.. tagNames.Select(PrometheusNames.Label)];
        string help = string.IsNullOrEmpty(instrument.Description) ? instrument.Name : instrument.Description;
        if (_histogram)
        {
            double[]? buckets = (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries?.ToArray();
            return factory.CreateHistogram(name, help, labelNames, buckets is null ? null : new HistogramConfiguration { Buckets = buckets });
        }
        return _counter ? factory.CreateCounter(name, help, labelNames) : factory.CreateGauge(name, help, labelNames);
    }

    private bool HasTagNames(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length != _tagNames!.Length)
            return false;
        for (int i = 0; i < tags.Length; i++)
        {
            if (tags[i].Key != _tagNames[i])
                return false;
        }
        return true;
    }

    private static string[] LabelValues(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var values = new string[tags.Length];
        for (int i = 0; i < tags.Length; i++)
            values[i] = Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture) ?? "";
        return values;
    }

    private sealed class LabelValuesComparer : IEqualityComparer<string[]>
    {
        public static readonly LabelValuesComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(string[] values)
        {
            var hash = new HashCode();
            foreach (string value in values)
                hash.Add(value);
            return hash.ToHashCode();
        }
    }
}
