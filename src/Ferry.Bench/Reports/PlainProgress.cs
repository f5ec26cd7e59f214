using System.Globalization;

namespace Ferry.Bench.Reports;

/// <summary>
/// Progress for pipes and logs: one line per second with the last second's rate, or nothing
/// at all when <c>output</c> is null (with <c>--json</c>, stdout carries only the report).
/// </summary>
internal sealed class PlainProgress(TextWriter? output) : IBenchProgress
{
    public async Task ShowAsync(string title, TimeSpan duration, Func<BenchTotals> read, CancellationToken cancellationToken)
    {
        if (output is null)
        {
            await Task.Delay(duration, cancellationToken);
            return;
        }

        var ticks = new ProgressTicks(duration, TimeSpan.FromSeconds(1));
        BenchTotals previous = read();
        while (await ticks.NextAsync(cancellationToken) is double seconds)
        {
            BenchTotals current = read();
            string lost = current.Lost > 0 ? $"  lost {current.Lost}" : string.Empty;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{title} {ticks.Elapsed.TotalSeconds,5:0.0}s  {(current.Messages - previous.Messages) / seconds,12:N0} msg/s  "
                + $"{(current.Bytes - previous.Bytes) / seconds / 1e6,9:N1} MB/s  errors {current.Errors}{lost}"));
            previous = current;
        }
    }
}
