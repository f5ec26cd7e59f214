using System.CommandLine;
using System.CommandLine.Help;
using System.Text.RegularExpressions;
using Ferry.Client;
using Ferry.Client.Commands;
using Ferry.Daemon.Hosting;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Services;

namespace Ferry.Tests;

/// <summary>
/// The man pages (docs/man/*.md) against the code: every option System.CommandLine knows for
/// ferryd, ferry and ferry bench, every key a listener or its service reads, and every key of
/// the configuration file, each taken from the code as it runs rather than from a list kept by
/// hand, must be documented where a reader looks for it: as a bold term of a definition list
/// (the <c>.TP</c> entries of an OPTIONS section), not just mentioned in passing.
/// </summary>
public sealed partial class ManPageTests
{
    private static readonly string ManDirectory = Path.Combine(RepositoryRoot(), "docs", "man");

    [Fact]
    public void FerrydPageDocumentsEveryCommandAndOption() =>
        Assert.Empty(UndocumentedFerrydOptions(Page("ferryd.8.md")));

    [Fact]
    public void FerryPageDocumentsEveryOptionOfConnectListenAndBench() =>
        Assert.Empty(UndocumentedFerryOptions(Page("ferry.1.md")));

    [Fact]
    public void FerrydPageDocumentsEveryListenerAndServiceKey() =>
        Assert.Empty(UndocumentedListenerKeys(Page("ferryd.8.md")));

    [Fact]
    public void ConfigurationPageDocumentsEveryKeyTheLoaderReads() =>
        Assert.Empty(UndocumentedConfigurationKeys(Page("ferryd.json.5.md")));

    /// <summary>The configuration page's example is a configuration ferryd accepts.</summary>
    [Fact]
    public void ConfigurationPageExampleLoads()
    {
        string example = CodeBlocks(SectionText(Page("ferryd.json.5.md"), "EXAMPLE")).Single();
        string file = Path.Combine(Path.GetTempPath(), $"ferry-man-page-example-{Environment.ProcessId}.json");
        File.WriteAllText(file, example);
        try
        {
            var settings = SettingsLoader.Load(new SettingsLoader.CommandLineValues(file, null, [], null, null, null, null, null, null));
            Assert.Equal(Regex.Matches(example, "\"Endpoint\"").Count - 1, settings.Listeners.Count);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Every listener in ferryd's EXAMPLES (-l ...) is well formed: endpoint, service and key syntax.</summary>
    [Fact]
    public void FerrydPageExampleListenersParse()
    {
        var listeners = CodeBlocks(SectionText(Page("ferryd.8.md"), "EXAMPLES"))
            .SelectMany(block => ExampleListener().Matches(block))
            .Select(match => match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value)
            .ToList();
        Assert.True(listeners.Count >= 5, $"only {listeners.Count} -l examples found");
        foreach (string listener in listeners)
            Assert.True(ListenerSpec.TryParse(listener, out _, out string error), error);
    }

    /// <summary>A drift test that cannot fail is a defect: take one thing out of each page and each check must say so.</summary>
    [Theory]
    [InlineData("ferryd.8.md", @"**\-\-connections**", "status --connections")]
    [InlineData("ferryd.8.md", "**-l**", "-l")]
    [InlineData("ferryd.8.md", "## ferryd reload", "reload")]
    [InlineData("ferry.1.md", "**-k**", "listen -k")]
    [InlineData("ferryd.8.md", @"**\-\-version**", "--version")]
    [InlineData("ferry.1.md", @"**\-\-insecure**", "--insecure")]
    [InlineData("ferry.1.md", @"**\-\-loss-timeout**", "bench --loss-timeout")]
    [InlineData("ferryd.8.md", "**sessionTimeout**", "forward: sessionTimeout")]
    [InlineData("ferryd.8.md", "**amplify**", "amplify")]
    [InlineData("ferryd.8.md", "**socketGroup**", "socketGroup")]
    [InlineData("ferryd.json.5.md", "**Metrics:Endpoint**", "Metrics:Endpoint")]
    [InlineData("ferryd.json.5.md", "**Listeners:NAME:Service**", "Listeners:NAME:Service")]
    [InlineData("ferryd.json.5.md", "**exempt**", "exempt")]
    public void EachCheckFailsWhenThePageLosesAnEntry(string page, string removed, string reported)
    {
        string text = Page(page);
        Assert.Contains(removed, text);
        string without = text.Replace(removed, "", StringComparison.Ordinal);
        var missing = page switch
        {
            "ferryd.8.md" => UndocumentedFerrydOptions(without).Concat(UndocumentedListenerKeys(without)),
            "ferry.1.md" => UndocumentedFerryOptions(without),
            _ => UndocumentedConfigurationKeys(without),
        };
        Assert.Contains(reported, missing);
    }

    /// <summary>
    /// Each command of ferryd has a "## ferryd COMMAND" section; each option of a command is a
    /// term in that section or in OPTIONS (the server options the run, start and check-config share).
    /// </summary>
    private static List<string> UndocumentedFerrydOptions(string page)
    {
        RootCommand root = new Ferry.Daemon.Hosting.CommandLine(TextWriter.Null, TextWriter.Null).Build();
        var missing = new List<string>();
        var common = TermsIn(page, "OPTIONS");
        foreach (string option in OptionNames(root).Where(name => !common.Contains(name)))
            missing.Add(option);
        foreach (Command command in root.Subcommands)
        {
            if (Sections(page, heading => heading.StartsWith($"ferryd {command.Name}", StringComparison.Ordinal)).Count == 0)
            {
                missing.Add(command.Name);
                continue;
            }
            var own = TermsIn(page, $"ferryd {command.Name}");
            missing.AddRange(OptionNames(command).Where(name => !own.Contains(name) && !common.Contains(name)).Select(name => $"{command.Name} {name}"));
        }
        return missing;
    }

    /// <summary>ferry's and listen's options are terms in OPTIONS, ferry-bench's in BENCH; listen and bench are in the SYNOPSIS.</summary>
    private static List<string> UndocumentedFerryOptions(string page)
    {
        RootCommand root = new ConnectCommand().CreateRoot();
        root.Subcommands.Add(new ListenCommand().Create());
        root.Subcommands.Add(BenchForwarder.CreateListing());
        var missing = new List<string>();
        var options = TermsIn(page, "OPTIONS");
        missing.AddRange(OptionNames(root).Where(name => !options.Contains(name)));
        foreach (Command command in root.Subcommands)
        {
            if (!Unescaped(SectionText(page, "SYNOPSIS")).Contains($"**ferry {command.Name}**", StringComparison.Ordinal))
                missing.Add(command.Name);
            missing.AddRange(OptionNames(command).Where(name => !options.Contains(name)).Select(name => $"{command.Name} {name}"));
        }
        var bench = TermsIn(page, "BENCH");
        missing.AddRange(OptionNames(new BenchCommand(BenchProgramName.ViaFerry).CreateRoot()).Where(name => !bench.Contains(name)).Select(name => $"bench {name}"));
        return missing;
    }

    /// <summary>
    /// The keys ListenerSettings.From reads for each service on each transport it serves (with
    /// its required keys given): the listener's own keys are terms in LISTENER OPTIONS, the
    /// service's in the service's section under SERVICES.
    /// </summary>
    private static List<string> UndocumentedListenerKeys(string page)
    {
        var listenerTerms = TermsIn(page, "LISTENER OPTIONS");
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (service, listenerKeys, serviceKeys) in KeysReadByEveryListener())
        {
            foreach (string key in listenerKeys.Where(key => !listenerTerms.Contains(key)))
                missing.Add(key);
            var serviceTerms = Terms(Sections(page, heading => heading.Split(", ").Contains(service)));
            foreach (string key in serviceKeys.Where(key => !serviceTerms.Contains(key)))
                missing.Add($"{service}: {key}");
        }
        return [.. missing];
    }

    /// <summary>Every key SettingsLoader reads is a term in KEYS; every listener-level key appears in LISTENER-LEVEL KEYS.</summary>
    private static List<string> UndocumentedConfigurationKeys(string page)
    {
        var missing = new List<string>();
        var keys = TermsIn(page, "KEYS");
        missing.AddRange(KeysReadByTheLoader().Where(key => !keys.Contains(key)));
        var listenerLevel = BoldIn(SectionText(page, "LISTENER-LEVEL KEYS"));
        missing.AddRange(KeysReadByEveryListener().SelectMany(read => read.ListenerKeys).Distinct().Where(key => !listenerLevel.Contains(key)));
        return missing;
    }

    private static IEnumerable<(string Service, IReadOnlyCollection<string> ListenerKeys, IReadOnlyList<string> ServiceKeys)> KeysReadByEveryListener()
    {
        foreach (string service in ServiceCatalog.Names)
        {
            var endpoints = new List<string> { "127.0.0.1:0", "unix:/tmp/ferry-man-page-test.sock" };
            if (ServiceCatalog.DatagramNames.Contains(service))
                endpoints.Add("udp:127.0.0.1:0");
            foreach (string endpoint in endpoints)
            {
                string written = $"{endpoint}={service}" + service switch
                {
                    "sink" => ",path=/tmp/ferry-man-page-test.log",
                    "forward" => ",to=127.0.0.1:1",
                    "exec" => ",cmd=/bin/sh",
                    _ => "",
                };
                Assert.True(ListenerSpec.TryParse(written, out var spec, out string error), error);
                var reader = new OptionReader(spec!);
                ListenerSettings.From(reader);
                Assert.NotEmpty(reader.Asked);
                yield return (service, reader.Asked.Except(reader.ServiceKeys, StringComparer.OrdinalIgnoreCase).ToList(), reader.ServiceKeys);
            }
        }
    }

    private static SortedSet<string> KeysReadByTheLoader()
    {
        string file = Path.Combine(Path.GetTempPath(), $"ferry-man-page-test-{Environment.ProcessId}.json");
        File.WriteAllText(file, """{ "Listeners": { "echo": { "Endpoint": "127.0.0.1:0", "Service": "echo" } } }""");
        try
        {
            var read = new SortedSet<string>(StringComparer.Ordinal);
            SettingsLoader.Load(new SettingsLoader.CommandLineValues(file, null, [], null, null, null, null, null, null), read);
            Assert.Contains("Listeners:NAME:Endpoint", read);
            return read;
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Every name and alias of every option of the command, System.CommandLine's help option aside (its -? /? /h are not ours to document).</summary>
    private static IEnumerable<string> OptionNames(Command command) =>
        command.Options.Where(option => option is not HelpOption)
            .SelectMany(option => option.Aliases.Prepend(option.Name)).Distinct();

    /// <summary>The bold words of the definition-list terms in the sections whose heading starts so, subsections included.</summary>
    private static HashSet<string> TermsIn(string page, string heading) =>
        Terms(Sections(page, text => text.StartsWith(heading, StringComparison.Ordinal)));

    private static HashSet<string> Terms(IEnumerable<string> sections)
    {
        var terms = new HashSet<string>(StringComparer.Ordinal);
        foreach (string section in sections)
        {
            string[] lines = section.Split('\n');
            for (int i = 0; i + 1 < lines.Length; i++)
            {
                // A pandoc definition list: the term's line, then ":" and the definition.
                if (lines[i].Length > 0 && !char.IsWhiteSpace(lines[i][0]) && lines[i + 1].StartsWith(':'))
                    terms.UnionWith(BoldIn(lines[i]));
            }
        }
        return terms;
    }

    /// <summary>The words in **bold**, with Markdown's backslash escapes (\-\-) undone.</summary>
    private static HashSet<string> BoldIn(string text)
    {
        var bold = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match match in Bold().Matches(Unescaped(text)))
            bold.Add(match.Groups[1].Value);
        return bold;
    }

    private static string Unescaped(string text) => Escape().Replace(text, "$1");

    private static string SectionText(string page, string heading) =>
        string.Join("\n", Sections(page, text => text == heading));

    /// <summary>Each section (heading line to the next heading of its level or above) whose heading text matches.</summary>
    private static List<string> Sections(string page, Func<string, bool> matches)
    {
        string[] lines = page.Replace("\r\n", "\n").Split('\n');
        var sections = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (Heading(lines[i]) is not (int level, string text) || !matches(text))
                continue;
            int end = i + 1;
            while (end < lines.Length && !(Heading(lines[end]) is (int next, _) && next <= level))
                end++;
            sections.Add(string.Join("\n", lines[i..end]));
        }
        return sections;
    }

    private static (int Level, string Text)? Heading(string line)
    {
        int level = line.TakeWhile(c => c == '#').Count();
        return level > 0 && line.Length > level && line[level] == ' ' ? (level, line[(level + 1)..].Trim()) : null;
    }

    /// <summary>The indented code blocks of a section, each with its indentation taken off.</summary>
    private static List<string> CodeBlocks(string section)
    {
        var blocks = new List<string>();
        var block = new List<string>();
        foreach (string line in section.Split('\n').Append(""))
        {
            if (line.StartsWith("    ", StringComparison.Ordinal))
            {
                block.Add(line[4..]);
            }
            else if (line.Trim().Length > 0 || block.Count > 0)
            {
                if (block.Count > 0)
                    blocks.Add(string.Join("\n", block));
                block.Clear();
            }
        }
        return blocks;
    }

    private static string Page(string name) => File.ReadAllText(Path.Combine(ManDirectory, name)).Replace("\r\n", "\n");

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "build.sh")) && Directory.Exists(Path.Combine(dir.FullName, "docs", "man")))
                return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository (build.sh, docs/man) above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"\*\*([^*]+)\*\*")]
    private static partial Regex Bold();

    [GeneratedRegex(@"-l\s+(?:'([^']*)'|([^\s\\]+))")]
    private static partial Regex ExampleListener();

    [GeneratedRegex(@"\\(.)")]
    private static partial Regex Escape();
}
