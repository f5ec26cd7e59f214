using System.Text.RegularExpressions;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// What an operator installs: --version, and the Debian package package.sh builds from the
/// binaries under test: lintian's verdict, its file list as docs/packaging.md gives it, and the
/// extracted binaries running with the packaged configuration.
/// </summary>
public sealed partial class PackageTests(PackageTests.BuiltPackage package) : IClassFixture<PackageTests.BuiltPackage>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("ferryd")]
    [InlineData("ferry")]
    public async Task VersionSaysVersionCommitBuildAndRuntime(string program)
    {
        var result = await ToolRun.RunAsync(program == "ferryd" ? Binaries.Ferryd : Binaries.Ferry, ["--version"], timeout: Generous);

        Assert.Equal(0, result.ExitCode);
        var match = VersionLine().Match(result.StdoutText.Trim());
        Assert.True(match.Success, $"unexpected --version: {result.StdoutText}");
        Assert.Equal(program, match.Groups["program"].Value);
        Assert.Equal(DeclaredVersion(), match.Groups["version"].Value);
        Assert.Equal("Native AOT", match.Groups["kind"].Value);   // what build.sh makes, and what ships
    }

    [Fact]
    public async Task LintianFindsNoErrorAndOnlyTheWarningsTheDocsAccept()
    {
        string lintian = ExternalTool.Require("lintian");

        var result = await ToolRun.RunAsync(lintian, ["--tag-display-limit", "0", package.Path], timeout: TimeSpan.FromMinutes(5));

        var lines = result.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain(lines, line => line.StartsWith("E:", StringComparison.Ordinal));
        string accepted = File.ReadAllText(Repository.PathOf("docs/packaging.md"));
        foreach (string warning in lines.Where(line => line.StartsWith("W:", StringComparison.Ordinal)))
        {
            string tag = warning.Split(' ', 4)[2];
            Assert.True(accepted.Contains($"`{tag}`", StringComparison.Ordinal), $"lintian warning not accepted in docs/packaging.md: {warning}");
        }
    }

    [Fact]
    public async Task TheFileListIsTheOneTheDocsGive()
    {
        var listing = await ToolRun.RunAsync("dpkg-deb", ["-c", package.Path], timeout: Generous);

        Assert.Equal(0, listing.ExitCode);
        var files = listing.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.StartsWith('d'))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[5].TrimStart('.'))
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(DocumentedFiles(), files);
    }

    [Fact]
    public async Task TheExtractedBinariesRunWithThePackagedConfiguration()
    {
        string root = Directory.CreateTempSubdirectory("ferry-deb-").FullName;
        try
        {
            var extract = await ToolRun.RunAsync("dpkg-deb", ["-x", package.Path, root], timeout: Generous);
            Assert.Equal(0, extract.ExitCode);
            string ferryd = Path.Combine(root, "usr/sbin/ferryd");

            var version = await ToolRun.RunAsync(ferryd, ["--version"], timeout: Generous);
            var check = await ToolRun.RunAsync(ferryd, ["check-config", "--config", Path.Combine(root, "etc/ferryd/ferryd.json")], timeout: Generous);
            var client = await ToolRun.RunAsync(Path.Combine(root, "usr/bin/ferry"), ["--version"], timeout: Generous);

            Assert.StartsWith($"ferryd {DeclaredVersion()} (", version.StdoutText);
            Assert.True(check.ExitCode == 0, check.Stderr);
            Assert.Contains("echo 127.0.0.1:7", check.StdoutText);   // safe defaults: loopback echo only
            Assert.StartsWith($"ferry {DeclaredVersion()} (", client.StdoutText);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static string DeclaredVersion() =>
        Regex.Match(File.ReadAllText(Repository.PathOf("Directory.Build.props")), "<Version>([^<]+)</Version>").Groups[1].Value;

    /// <summary>The package's files as docs/packaging.md lists them (the block after "Files:").</summary>
    private static string[] DocumentedFiles()
    {
        string docs = File.ReadAllText(Repository.PathOf("docs/packaging.md"));
        var block = Regex.Match(docs, @"<!-- package files -->\s*```\s*\n(?<files>.*?)```", RegexOptions.Singleline);
        Assert.True(block.Success, "docs/packaging.md has no <!-- package files --> block");
        return block.Groups["files"].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Order(StringComparer.Ordinal).ToArray();
    }

    [GeneratedRegex(@"^(?<program>\S+) (?<version>\d+\.\d+\.\d+\S*) \(commit (?<commit>[0-9a-f]{12}|unknown), (?<kind>Native AOT|JIT), \.NET \d+\.\d+\.\d+\S*, linux-\S+\)$")]
    private static partial Regex VersionLine();

    /// <summary>The package built once for the class, with package.sh from the binaries under test.</summary>
    public sealed class BuiltPackage : IAsyncLifetime
    {
        public string Path { get; private set; } = "";

        public async ValueTask InitializeAsync()
        {
            ExternalTool.Require("pandoc");
            ExternalTool.Require("strip");
            var result = await ToolRun.RunAsync(Repository.PathOf("package.sh"), [], timeout: TimeSpan.FromMinutes(10),
                environment: new Dictionary<string, string> { ["SKIP_BUILD"] = "1" });
            Assert.True(result.ExitCode == 0, $"package.sh failed: {result.Stderr}");
            string line = result.StdoutText.Trim().Split('\n')[^1];
            Assert.StartsWith("built ", line);
            Path = Repository.PathOf(line["built ".Length..]);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
