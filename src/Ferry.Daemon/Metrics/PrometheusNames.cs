using System.Diagnostics.Metrics;
using System.Text;

namespace Ferry.Daemon.Metrics;

/// <summary>
/// An instrument's name as Prometheus knows it, after OpenTelemetry's rules for Prometheus
/// (lower case, '.' → '_', the unit as a suffix: s → _seconds, By → _bytes; a counter ends in
/// _total; a {annotation} unit adds nothing): ferry.connection.duration (s) →
/// ferry_connection_duration_seconds, ferry.connections.accepted → ferry_connections_accepted_total.
/// </summary>
internal static class PrometheusNames
{
    /// <summary>
    /// The runtime's counts named "….count", which Prometheus reserves for a histogram's count
    /// (promtool refuses them): named for what they count instead.
    /// </summary>
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["dotnet.thread_pool.thread.count"] = "dotnet.thread_pool.threads",
        ["dotnet.thread_pool.work_item.count"] = "dotnet.thread_pool.work_items",
        ["dotnet.timer.count"] = "dotnet.timers",
        ["dotnet.assembly.count"] = "dotnet.assemblies",
        ["dotnet.process.cpu.count"] = "dotnet.process.cpus",
    };

    /// <summary>
    /// The runtime publishes these current values as observable counters (in .NET 10); as
    /// counters Prometheus would take a falling thread count for a reset. They are gauges.
    /// </summary>
    private static readonly HashSet<string> CurrentValues = new(StringComparer.Ordinal)
    {
        "dotnet.thread_pool.thread.count",
        "dotnet.thread_pool.queue.length",
    };

    /// <summary>The Prometheus name, or null for a name Prometheus would misread (a gauge ending in _count).</summary>
    public static string? For(Instrument instrument)
    {
        string name = Snake(Renamed.GetValueOrDefault(instrument.Name, instrument.Name));
        string suffix = instrument.Unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            "1" => "_ratio",
            _ => "",
        };
        if (!name.EndsWith(suffix, StringComparison.Ordinal))
            name += suffix;
        if (IsCounter(instrument))
            name += "_total";
        else if (!IsHistogram(instrument) && (name.EndsWith("_count", StringComparison.Ordinal)
            || name.EndsWith("_sum", StringComparison.Ordinal) || name.EndsWith("_bucket", StringComparison.Ordinal)))
            return null;
        return name;
    }

    /// <summary>A tag's name as a label name: "gc.heap.generation" → "gc_heap_generation".</summary>
    public static string Label(string tag) => Snake(tag);

    public static bool IsCounter(Instrument instrument)
    {
        if (CurrentValues.Contains(instrument.Name))
            return false;
        var type = instrument.GetType();
        return type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Counter<>) || type.GetGenericTypeDefinition() == typeof(ObservableCounter<>));
    }

    public static bool IsHistogram(Instrument instrument) =>
        instrument.GetType() is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(Histogram<>);

    private static string Snake(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (char c in name)
            text.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_');
        return text.ToString();
    }
}
