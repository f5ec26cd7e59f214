using System.Globalization;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// <c>ferry bench</c> runs ferry-bench, installed next to ferry: arguments, output and exit
/// code pass through, SIGTERM reaches it, and without it ferry says so in one line.
/// </summary>
public sealed class BenchForwarderTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task FerryBenchHelpIsFerryBenchsHelpUnderTheNameTyped()
    {
        var viaFerry = await ToolRun.RunAsync(Binaries.Ferry, ["bench", "--help"], timeout: Generous);
        var direct = await ToolRun.RunAsync(Binaries.FerryBench, ["--help"], timeout: Generous);

        Assert.Equal(0, viaFerry.ExitCode);
        // HOST and PORT show as optional: --unix PATH takes their place.
        Assert.Contains("ferry bench [<HOST> [<PORT>]] [options]", viaFerry.StdoutText);
        Assert.Contains("--engine <auto|epoll|threads|async>", viaFerry.StdoutText);
        Assert.Contains("--unix <PATH>", viaFerry.StdoutText);
        Assert.Equal(0, direct.ExitCode);
        Assert.Contains("ferry-bench [<HOST> [<PORT>]] [options]", direct.StdoutText);
    }

    [Fact]
    public async Task UsageErrorsNameTheCommandThatWasTyped()
    {
        var viaFerry = await ToolRun.RunAsync(Binaries.Ferry, ["bench", "127.0.0.1", "7", "--mode", "sideways"], timeout: Generous);
        var direct = await ToolRun.RunAsync(Binaries.FerryBench, ["127.0.0.1", "7", "--mode", "sideways"], timeout: Generous);

        Assert.Equal(2, viaFerry.ExitCode);
        Assert.Equal("ferry: unknown mode 'sideways' (pingpong, bulk, connect, idle or chat)", viaFerry.Stderr.Split('\n')[0]);
        Assert.Contains("Try 'ferry bench --help' for more.", viaFerry.Stderr);
        Assert.Equal(2, direct.ExitCode);
        Assert.Equal("ferry-bench: unknown mode 'sideways' (pingpong, bulk, connect, idle or chat)", direct.Stderr.Split('\n')[0]);
        Assert.Contains("Try 'ferry-bench --help' for more.", direct.Stderr);
    }

    [Fact]
    public async Task WithoutFerryBenchFerryBenchSaysSoInOneLineAndExitsOne()
    {
        // ferry alone (and what a framework-dependent build needs beside it), without ferry-bench.
        using var lonely = new TempDirectory();
        foreach (string file in Directory.EnumerateFiles(Binaries.Directory))
        {
            string name = Path.GetFileName(file);
            if (!name.StartsWith("ferry-bench", StringComparison.Ordinal) && !name.StartsWith("ferryd", StringComparison.Ordinal))
                File.Copy(file, lonely.File(name));
        }

        var result = await ToolRun.RunAsync(lonely.File("ferry"), ["bench", "127.0.0.1", "7"], timeout: Generous);

        Assert.Equal(1, result.ExitCode);
        string[] lines = result.Stderr.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("ferry: bench: ", lines[0]);
        Assert.Contains(lonely.File("ferry-bench") + " is missing", lines[0]);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task SigtermToFerryReachesFerryBenchAndItsExitCodeComesBack()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();
        await using RunningProcess ferry = RunningProcess.Start(Binaries.Ferry,
            ["bench", "127.0.0.1", ferryd.Port().ToString(CultureInfo.InvariantCulture), "--duration", "60", "--warmup", "0", "--json"]);
        int bench = await ChildNamedAsync(ferry.Pid, "ferry-bench", TimeSpan.FromSeconds(20));
        try
        {
            Signals.Send(ferry.Pid, Signals.SigTerm);

            Assert.Equal(143, await ferry.WaitForExitAsync(TimeSpan.FromSeconds(20)));
            // Without the relay, ferry would have died alone and ferry-bench would run on.
            Assert.True(await GoneAsync(bench, TimeSpan.FromSeconds(10)), $"ferry-bench ({bench}) still runs after ferry exited");
        }
        finally
        {
            if (!await GoneAsync(bench, TimeSpan.Zero))
                Signals.Send(bench, Signals.SigKill);
        }
    }

    /// <summary>The pid of <paramref name="parent"/>'s child running <paramref name="name"/>, once it exists.</summary>
    private static async Task<int> ChildNamedAsync(int parent, string name, TimeSpan timeout)
    {
        DateTime giveUp = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < giveUp)
        {
            foreach (string dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out int pid))
                    continue;
                try
                {
                    // "pid (comm) state ppid ...": the name may hold spaces, so read after its ')'.
                    string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    int open = stat.IndexOf('(');
                    int close = stat.LastIndexOf(')');
                    string[] rest = stat[(close + 2)..].Split(' ');
                    if (stat[(open + 1)..close] == name && int.Parse(rest[1], CultureInfo.InvariantCulture) == parent)
                        return pid;
                }
                catch (IOException)
                {
                    // The process ended while we looked.
                }
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"no child '{name}' of {parent} within {timeout}");
    }

    private static async Task<bool> GoneAsync(int pid, TimeSpan timeout)
    {
        DateTime giveUp = DateTime.UtcNow + timeout;
        do
        {
            // A zombie (exited, not yet reaped by its parent) counts as gone.
            try
            {
                string stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
                if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z'))
                    return true;
            }
            catch (IOException)
            {
                return true;
            }
            await Task.Delay(50);
        }
        while (DateTime.UtcNow < giveUp);
        return false;
    }
}
