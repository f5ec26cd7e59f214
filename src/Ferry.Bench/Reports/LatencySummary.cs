using HdrHistogram;

namespace Ferry.Bench.Reports;

/// <summary>The latency figures a report shows, in microseconds.</summary>
internal sealed record LatencySummary(
    long Count,
    double Mean,
    double P50,
    double P90,
    double P99,
    double P999,
    double Max)
{
    /// <summary>
    /// Reads the summary from a histogram recorded in nanoseconds, or returns null when it
    /// holds no values (modes such as bulk record none).
    /// </summary>
    public static LatencySummary? From(HistogramBase nanoseconds)
    {
        if (nanoseconds.TotalCount == 0)
            return null;
        return new LatencySummary(
            nanoseconds.TotalCount,
            Micros(nanoseconds.GetMean()),
            Micros(nanoseconds.GetValueAtPercentile(50)),
            Micros(nanoseconds.GetValueAtPercentile(90)),
            Micros(nanoseconds.GetValueAtPercentile(99)),
            Micros(nanoseconds.GetValueAtPercentile(99.9)),
            Micros(nanoseconds.GetMaxValue()));
    }

    private static double Micros(double nanoseconds) => Math.Round(nanoseconds / 1000.0, 1);
}
