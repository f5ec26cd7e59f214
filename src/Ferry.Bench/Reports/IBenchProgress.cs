namespace Ferry.Bench.Reports;

/// <summary>Shows the run while it is measured; returns when <c>duration</c> has passed.</summary>
internal interface IBenchProgress
{
    Task ShowAsync(string title, TimeSpan duration, Func<BenchTotals> read, CancellationToken cancellationToken);
}
