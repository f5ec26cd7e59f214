using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// A configuration file that cannot be used is a config error: exit 6 and one line naming the
/// key or the file and what is wrong with it, never the usage line, never a value silently
/// read as something else.
/// </summary>
public sealed class ConfigFileTests
{
    private const int BadConfig = 6;

    private static async Task<ToolRun.Result> CheckAsync(DaemonSandbox sandbox, string json)
    {
        sandbox.WriteConfig(json);
        return await sandbox.FerrydAsync("check-config", "--config", sandbox.ConfigFile);
    }

    private static void AssertConfigError(ToolRun.Result result, string problem)
    {
        Assert.True(result.ExitCode == BadConfig, $"exit {result.ExitCode}: {result.Stderr}");
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("ferryd: ", lines[0]);
        Assert.Contains(problem, lines[0]);
        Assert.DoesNotContain("Usage:", result.Stderr);
    }

    [Fact]
    public async Task AnUnknownListenerKeyNamesTheListenerAndTheKey()
    {
        await using var sandbox = new DaemonSandbox();
        var result = await CheckAsync(sandbox, """{ "Listeners": { "e": { "Endpoint": "127.0.0.1:7", "Bogus": 1 } } }""");
        AssertConfigError(result, "config key Listeners:e");
        Assert.Contains("unknown option 'Bogus' for echo", result.Stderr);
    }

    [Fact]
    public async Task AFileWithoutListenersHasNothingToServe()
    {
        await using var sandbox = new DaemonSandbox();
        AssertConfigError(await CheckAsync(sandbox, """{ "Logging": { "Level": "info" } }"""), "has no Listeners");
    }

    [Fact]
    public async Task AnObjectWhereAValueOrListBelongsIsRefused()
    {
        await using var sandbox = new DaemonSandbox();
        var result = await CheckAsync(sandbox, """{ "Listeners": { "e": { "Endpoint": "127.0.0.1:7", "Allow": { "a": 1 } } } }""");
        AssertConfigError(result, "config key Listeners:e:Allow");
        Assert.Contains("not an object", result.Stderr);

        // A list is fine, and means what the command line's ';' list means.
        var list = await CheckAsync(sandbox, """{ "Listeners": { "e": { "Endpoint": "127.0.0.1:7", "Allow": ["10.0.0.0/8", "127.0.0.1"] } } }""");
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Contains("allow=10.0.0.0/8;127.0.0.1", list.StdoutText, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ListenerNamesThatDifferOnlyInCaseAreOneKeyGivenTwice()
    {
        await using var sandbox = new DaemonSandbox();
        var result = await CheckAsync(sandbox,
            """{ "Listeners": { "e": { "Endpoint": "127.0.0.1:7" }, "E": { "Endpoint": "127.0.0.1:8" } } }""");
        AssertConfigError(result, "is given twice");
        Assert.Contains("case-insensitive", result.Stderr);
        Assert.DoesNotContain("not valid JSON", result.Stderr);
    }

    [Fact]
    public async Task ADirectoryIsNotAConfigFile()
    {
        await using var sandbox = new DaemonSandbox();
        var result = await sandbox.FerrydAsync("check-config", "--config", sandbox.Directory);
        AssertConfigError(result, "it is a directory");
    }

    [Fact]
    public async Task ABadValueInTheFileIsAConfigErrorButTheSameValueTypedIsAUsageError()
    {
        await using var sandbox = new DaemonSandbox();
        AssertConfigError(await CheckAsync(sandbox, """{ "Listeners": { "e": { "Endpoint": "127.0.0.1:7", "MaxConnections": -1 } } }"""),
            "maxConnections=-1: not a whole number");
        AssertConfigError(await CheckAsync(sandbox, """{ "Listeners": { "e": { "Endpoint": "127.0.0.1:7" } }, "Logging": { "Level": "loud" } }"""),
            "config key Logging:Level = 'loud'");

        var typed = await sandbox.FerrydAsync("check-config", "--listen", "127.0.0.1:7=echo,maxConnections=-1");
        Assert.Equal(2, typed.ExitCode);
        Assert.Contains("Usage: ferryd", typed.Stderr);
    }

    [Fact]
    public async Task OpenLinesIsASwitchAndAnythingElseIsAConfigError()
    {
        await using var sandbox = new DaemonSandbox();
        var on = await CheckAsync(sandbox, """{ "Listeners": { "e": { "Endpoint": "127.0.0.1:7" } }, "Logging": { "OpenLines": true } }""");
        Assert.True(on.ExitCode == 0, on.Stderr);
        Assert.Contains("logging info to console, open lines at info", on.StdoutText);

        var off = await CheckAsync(sandbox, """{ "Listeners": { "e": { "Endpoint": "127.0.0.1:7" } }, "Logging": { "OpenLines": "off" } }""");
        Assert.True(off.ExitCode == 0, off.Stderr);
        Assert.DoesNotContain("open lines", off.StdoutText);

        AssertConfigError(await CheckAsync(sandbox, """{ "Listeners": { "e": { "Endpoint": "127.0.0.1:7" } }, "Logging": { "OpenLines": "sometimes" } }"""),
            "config key Logging:OpenLines = 'sometimes': not one of on, off, true, false, yes, no, 1, 0");
    }

    [Fact]
    public async Task AnOptionTypedOnTheCommandLineReplacesTheFilesLogTargetOfTheOtherKind()
    {
        await using var sandbox = new DaemonSandbox();
        string directory = Path.Combine(sandbox.Directory, "logs");
        sandbox.WriteConfig($$"""{ "Listeners": { "e": { "Endpoint": "127.0.0.1:7" } }, "Logging": { "Directory": "{{directory}}" } }""");
        var result = await sandbox.FerrydAsync("check-config", "--config", sandbox.ConfigFile, "--log-file", sandbox.LogFile);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"to file {sandbox.LogFile}", result.StdoutText);
    }
}
