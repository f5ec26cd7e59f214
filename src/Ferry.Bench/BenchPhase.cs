using System.Diagnostics;

namespace Ferry.Bench;

/// <summary>
/// The run's clock shared by all connections: started (warming up), measuring, or stopping.
/// Connections poll it between messages, which costs one volatile read.
/// </summary>
internal sealed class BenchPhase
{
    private volatile bool _measuring;
    private volatile bool _stopping;

    public bool Measuring => _measuring;

    public bool Stopping => _stopping;

    /// <summary>When the load started, warm-up included: open-loop schedules count from here.</summary>
    public long StartTimestamp { get; private set; }

    public long MeasureStartTimestamp { get; private set; }

    public long MeasureEndTimestamp { get; private set; }

    public TimeSpan Measured => MeasureEndTimestamp == 0
        ? Stopwatch.GetElapsedTime(MeasureStartTimestamp)
        : Stopwatch.GetElapsedTime(MeasureStartTimestamp, MeasureEndTimestamp);

    public void Start() => StartTimestamp = Stopwatch.GetTimestamp();

    public void BeginMeasuring()
    {
        MeasureStartTimestamp = Stopwatch.GetTimestamp();
        _measuring = true;
    }

    public void Stop()
    {
        // Messages finishing after this point are not counted, so the rate is exact.
        _measuring = false;
        MeasureEndTimestamp = Stopwatch.GetTimestamp();
        _stopping = true;
    }
}
