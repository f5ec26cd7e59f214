using System.Globalization;
using System.Text.RegularExpressions;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>One GET of ferryd's /metrics, parsed into samples: name, labels, value.</summary>
internal sealed partial class Scrape
{
    private Scrape(string text, IReadOnlyList<Sample> samples)
    {
        Text = text;
        Samples = samples;
    }

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public string Text { get; }

    public IReadOnlyList<Sample> Samples { get; }

    public static async Task<Scrape> GetAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        var samples = new List<Sample>();
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"not a sample line: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            samples.Add(new Sample(match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return new Scrape(text, samples);
    }

    /// <summary>The value of the one sample of <paramref name="name"/> whose labels include <paramref name="labels"/>; fails if none or several.</summary>
    public double Value(string name, params (string Name, string Value)[] labels)
    {
        var found = Samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Name) == l.Value)).ToList();
        Assert.True(found.Count == 1, $"{found.Count} samples of {name} with {string.Join(",", labels)} in:\n{Text}");
        return found[0].Value;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
