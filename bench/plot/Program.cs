using System.Text.Json;
using ScottPlot;

// latency-plot DIR [OUT.png]: one group of bars per scenario with latency percentiles
// (p50, p90, p99, p99.9) for each server, from bench/run.sh's SERVER.SCENARIO.STYLE.json reports
// (first rounds only; STYLE is the client style, ferry-bench's --engine).
if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: latency-plot REPORT_DIR [OUT.png]");
    return 2;
}
string directory = args[0];
string output = args.Length == 2 ? args[1] : Path.Combine(directory, "latency.png");
string[] percentiles = ["p50", "p90", "p99", "p99_9"];

var reports = Directory.GetFiles(directory, "*.json")
    .Select(path => (Name: Path.GetFileNameWithoutExtension(path).Split('.'), Path: path))
    .Where(file => file.Name.Length == 3)
    .Select(file => (Server: file.Name[0], Scenario: $"{file.Name[1]} ({file.Name[2]})", Latency: ReadLatency(file.Path)))
    .Where(report => report.Latency is not null)
    .OrderBy(report => report.Scenario).ThenBy(report => report.Server)
    .ToList();
if (reports.Count == 0)
{
    Console.Error.WriteLine($"latency-plot: no reports with latencies in {directory}");
    return 1;
}

var plot = new Plot();
var palette = new ScottPlot.Palettes.Category10();
var ticks = new List<Tick>();
double x = 0;
foreach (var group in reports.GroupBy(report => report.Scenario))
{
    foreach (var report in group)
    {
        for (int p = 0; p < percentiles.Length; p++)
        {
            plot.Add.Bar(new Bar
            {
                Position = x + p * 0.2,
                Value = report.Latency![percentiles[p]],
                FillColor = palette.GetColor(p),
                Size = 0.18,
            });
        }
        ticks.Add(new Tick(x + 0.3, $"{report.Server}\n{report.Scenario}"));
        x += 1;
    }
    x += 0.5;
}
plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
plot.Axes.Left.Label.Text = "latency, microseconds";
plot.Title("ferry-bench latency percentiles (p50, p90, p99, p99.9)");
for (int p = 0; p < percentiles.Length; p++)
    plot.Legend.ManualItems.Add(new LegendItem { LabelText = percentiles[p].Replace('_', '.'), FillColor = palette.GetColor(p) });
plot.ShowLegend(Alignment.UpperLeft);
plot.Axes.Margins(bottom: 0);
plot.SavePng(output, 1000, 500);
Console.WriteLine(output);
return 0;

static Dictionary<string, double>? ReadLatency(string path)
{
    using var document = JsonDocument.Parse(File.ReadAllBytes(path));
    if (!document.RootElement.TryGetProperty("latencyMicroseconds", out var latency) || latency.ValueKind != JsonValueKind.Object)
        return null;
    return latency.EnumerateObject()
        .Where(property => property.Value.ValueKind == JsonValueKind.Number)
        .ToDictionary(property => property.Name, property => property.Value.GetDouble());
}
