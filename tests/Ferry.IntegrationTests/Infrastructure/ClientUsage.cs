namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>How ferry refuses a command line it cannot run: exit 2, one line naming the problem, the usage line.</summary>
internal static class ClientUsage
{
    public static async Task AssertRefusedAsync(string commandLine, string problem, string usage)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferry, commandLine.Split(' '), timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(2, result.ExitCode);
        string[] lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ferry: ", lines[0]);
        Assert.Contains(problem, lines[0]);
        Assert.Equal(usage, lines[1]);
        Assert.DoesNotContain("listening", result.Stderr);   // refused before anything listens
    }
}
