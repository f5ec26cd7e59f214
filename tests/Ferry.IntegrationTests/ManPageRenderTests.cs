using System.Diagnostics;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// docs/man/render.sh run with the real pandoc, and each page it makes read by the real man
/// (man-db, groff) with --warnings at 80 columns: a page that groff complains about (a line it
/// cannot break, a bad escape, a table too wide) fails here, not on a user's terminal.
/// </summary>
public sealed class ManPageRenderTests
{
    public static TheoryData<string, string> Pages => new()
    {
        { "ferryd.8", "FERRYD(8)" },
        { "ferry.1", "FERRY(1)" },
        { "ferryd.json.5", "FERRYD.JSON(5)" },
    };

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task EveryPageRendersWithoutAWarningFromMan(string page, string title)
    {
        ExternalTool.Require("pandoc");
        string man = ExternalTool.Require("man");
        using var output = new TempDirectory();

        var render = await ToolRun.RunAsync("/bin/sh", [Repository.PathOf("docs/man/render.sh"), output.Path]);
        Assert.True(render.ExitCode == 0, $"render.sh exited {render.ExitCode}: {render.Stderr}");
        Assert.True(File.Exists(output.File(page)), $"render.sh made no {page}");

        var (exitCode, stdout, stderr) = await RunAsync(man, ["--warnings", "-l", output.File(page)],
            new Dictionary<string, string> { ["MANWIDTH"] = "80", ["LC_ALL"] = "C.UTF-8" });
        Assert.True(exitCode == 0, $"man exited {exitCode}: {stderr}");
        Assert.True(stderr.Length == 0, $"man --warnings -l {page}:\n{stderr}");
        Assert.StartsWith(title, stdout.TrimStart());
        Assert.Contains("NAME", stdout);
    }

    [Fact]
    public async Task RenderingWithoutPandocFailsSayingSo()
    {
        string sh = ExternalTool.Require("sh");
        using var output = new TempDirectory();
        var (exitCode, _, stderr) = await RunAsync(sh, [Repository.PathOf("docs/man/render.sh"), output.Path],
            new Dictionary<string, string> { ["PATH"] = output.Path });
        Assert.NotEqual(0, exitCode);
        Assert.Contains("pandoc is not installed", stderr);
        Assert.Empty(Directory.GetFiles(output.Path));
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, string[] args, Dictionary<string, string> environment)
    {
        using var process = Process.Start(RunningProcess.Redirected(file, args, environment)) ?? throw new InvalidOperationException($"cannot start {file}");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
