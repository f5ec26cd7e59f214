using System.Globalization;
using Spectre.Console;

namespace Ferry.Bench.Reports;

/// <summary>A live table on a terminal, redrawn every half second.</summary>
internal sealed class LiveProgress : IBenchProgress
{
    private static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(500);

    public async Task ShowAsync(string title, TimeSpan duration, Func<BenchTotals> read, CancellationToken cancellationToken)
    {
        var table = new Table().Title(Markup.Escape(title)).AddColumns("elapsed", "msg/s", "MB/s", "messages", "errors");
        table.AddRow("0.0 s", "-", "-", "0", "0");

        await AnsiConsole.Live(table).AutoClear(false).StartAsync(async context =>
        {
            var ticks = new ProgressTicks(duration, Refresh);
            BenchTotals previous = read();
            while (await ticks.NextAsync(cancellationToken) is double seconds)
            {
                BenchTotals current = read();
                table.UpdateCell(0, 0, string.Create(CultureInfo.InvariantCulture, $"{ticks.Elapsed.TotalSeconds:0.0} s"));
                table.UpdateCell(0, 1, ((current.Messages - previous.Messages) / seconds).ToString("N0", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 2, ((current.Bytes - previous.Bytes) / seconds / 1e6).ToString("N1", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 3, current.Messages.ToString("N0", CultureInfo.InvariantCulture));
                string lost = current.Lost > 0 ? $" ({current.Lost.ToString(CultureInfo.InvariantCulture)} lost)" : string.Empty;
                table.UpdateCell(0, 4, (current.Errors == 0
                    ? "0"
                    : $"[red]{current.Errors.ToString(CultureInfo.InvariantCulture)}[/]") + lost);
                context.Refresh();
                previous = current;
            }
        });
    }
}
