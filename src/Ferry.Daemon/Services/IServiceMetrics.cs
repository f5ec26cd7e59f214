using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ferry.Daemon.Services;

/// <summary>
/// A service with numbers of its own for ferryd's metrics (members, upstreams, children). It is
/// asked at each collection (a scrape, a dotnet-counters tick), never per byte, and reports the
/// counts it keeps anyway; the instruments, their names and the listener labels are
/// <see cref="Metrics.FerryMetrics"/>'.
/// </summary>
internal interface IServiceMetrics
{
    void Report(ServiceReport report);
}

/// <summary>The numbers a service can report; each is one instrument (docs/observability.md).</summary>
internal enum ServiceMetric
{
    FanoutMembers,
    FanoutMessages,
    FanoutBytes,
    FanoutSlowConsumers,
    FanoutQueuedBytes,
    UpstreamUp,
    UpstreamActive,
    UpstreamConnectFailures,
    ExecChildren,
    ExecWaiting,
    ExecExits,
    BackplaneUp,
    BackplaneBufferedLines,
    BackplaneDroppedLines,
    BackplaneLostLines,
}

/// <summary>
/// Collects one instrument's measurements from a service: the service adds all it knows, the
/// report keeps what the instrument asked for, labelled with the listener and service.
/// </summary>
internal sealed class ServiceReport(ServiceMetric wanted, TagList labels, List<Measurement<long>> into)
{
    public void Add(ServiceMetric metric, long value)
    {
        if (metric == wanted)
            into.Add(new Measurement<long>(value, labels));
    }

    public void Add(ServiceMetric metric, long value, string key, string label)
    {
        if (metric != wanted)
            return;
        var tags = labels;
        tags.Add(key, label);
        into.Add(new Measurement<long>(value, tags));
    }

    public void Add(ServiceMetric metric, long value, string key, string label, string secondKey, string secondLabel)
    {
        if (metric != wanted)
            return;
        var tags = labels;
        tags.Add(key, label);
        tags.Add(secondKey, secondLabel);
        into.Add(new Measurement<long>(value, tags));
    }
}
