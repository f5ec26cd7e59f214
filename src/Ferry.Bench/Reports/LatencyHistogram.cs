using System.Diagnostics;
using HdrHistogram;

namespace Ferry.Bench.Reports;

/// <summary>
/// Creates the histograms latencies are recorded into and records into them safely:
/// nanoseconds, three significant digits, anything beyond the range clamped to its top
/// rather than thrown away (a stalled server must show up as a huge maximum, not vanish).
/// </summary>
internal static class LatencyHistogram
{
    public const long HighestNanoseconds = 60L * 1_000_000_000;

    private const int SignificantDigits = 3;

    public static LongHistogram Create() => new(1, HighestNanoseconds, SignificantDigits);

    public static void RecordNanoseconds(HistogramBase histogram, long nanoseconds) =>
        histogram.RecordValue(Math.Clamp(nanoseconds, 1, HighestNanoseconds));

    public static void RecordElapsed(HistogramBase histogram, long startTimestamp, long endTimestamp) =>
        RecordNanoseconds(histogram, ToNanoseconds(endTimestamp - startTimestamp));

    public static long ToNanoseconds(long stopwatchTicks) =>
        Stopwatch.Frequency == 1_000_000_000
            ? stopwatchTicks
            : (long)(stopwatchTicks * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary>Adds all histograms into a new one.</summary>
    public static LongHistogram Merge(IEnumerable<HistogramBase> parts)
    {
        LongHistogram total = Create();
        foreach (HistogramBase part in parts)
            total.Add(part);
        return total;
    }
}
