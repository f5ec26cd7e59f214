using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// contrib/logrotate/ferryd run by the real logrotate, with its paths pointed at a test's
/// directory: it must make ferryd reopen its log whichever way ferryd runs, and never signal
/// a process that merely inherited a dead ferryd's pid.
/// </summary>
public sealed class LogrotateTests
{
    [Fact]
    public async Task TheShippedConfigurationParses()
    {
        string logrotate = ExternalTool.Require("logrotate");
        using var directory = new TempDirectory();
        var debug = await ToolRun.RunAsync(logrotate, ["-d", "-s", directory.File("state"), Repository.PathOf("contrib/logrotate/ferryd")]);
        Assert.Equal(0, debug.ExitCode);
        Assert.DoesNotContain("error", debug.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("rotating pattern: /var/log/ferryd/*.log", debug.Stderr);
    }

    [Fact]
    public async Task RotationMakesADetachedDaemonReopenItsLog()
    {
        string logrotate = ExternalTool.Require("logrotate");
        await using var sandbox = new DaemonSandbox();
        Assert.Equal(0, (await sandbox.StartAsync("--listen", "127.0.0.1:0")).ExitCode);

        await RotateAsync(logrotate, sandbox);

        await ExpectReopenedAsync(sandbox);
    }

    [Fact]
    public async Task RotationMakesAForegroundFerrydWithAPidFileReopenItsLog()
    {
        string logrotate = ExternalTool.Require("logrotate");
        await using var sandbox = new DaemonSandbox();
        await using var ferryd = await FerrydProcess.StartEchoAsync("--pid-file", sandbox.PidFile, "--log-file", sandbox.LogFile);
        // "notifempty": only a log with a line in it is rotated; stdout's "listening" comes before the log's.
        await ServiceProtocolTests.WaitForAsync(() => File.Exists(sandbox.LogFile) && sandbox.ReadLog().Contains("listening"),
            () => "ferryd did not log that it is listening");

        await RotateAsync(logrotate, sandbox);

        await ExpectReopenedAsync(sandbox);
    }

    [Fact]
    public async Task RotationNeverSignalsAProcessThatInheritedADeadFerrydsPid()
    {
        string logrotate = ExternalTool.Require("logrotate");
        await using var sandbox = new DaemonSandbox();
        // What a SIGKILLed ferryd leaves: its pid file and its (now free) lock file; the pid reused.
        await using var stranger = RunningProcess.Start("sleep", ["1000"]);
        Directory.CreateDirectory(Path.GetDirectoryName(sandbox.PidFile)!);
        File.WriteAllText(sandbox.PidFile, $"{stranger.Pid}\n");
        File.WriteAllText(sandbox.PidFile + ".lock", "");
        Directory.CreateDirectory(Path.GetDirectoryName(sandbox.LogFile)!);
        File.WriteAllText(sandbox.LogFile, "a line from before\n");

        await RotateAsync(logrotate, sandbox);

        await Task.Delay(500, TestContext.Current.CancellationToken); // time enough for a wrongly sent SIGUSR1 to kill it
        Assert.True(DaemonSandbox.IsAlive(stranger.Pid), "logrotate's SIGUSR1 killed a process that is not ferryd");
    }

    /// <summary>logrotate -f with the shipped file, its log and pid paths swapped for the sandbox's.</summary>
    private static async Task RotateAsync(string logrotate, DaemonSandbox sandbox)
    {
        string config = Path.Combine(sandbox.Directory, "logrotate.conf");
        File.WriteAllText(config, File.ReadAllText(Repository.PathOf("contrib/logrotate/ferryd"))
            .Replace("/var/log/ferryd", Path.GetDirectoryName(sandbox.LogFile), StringComparison.Ordinal)
            .Replace("/run/ferryd/ferryd.pid", sandbox.PidFile, StringComparison.Ordinal));
        var rotated = await ToolRun.RunAsync(logrotate, ["-f", "-s", Path.Combine(sandbox.Directory, "logrotate.state"), config]);
        Assert.True(rotated.ExitCode == 0, "logrotate failed: " + rotated.Stderr);
        Assert.True(File.Exists(sandbox.LogFile + ".1"), "logrotate did not rotate the log: " + rotated.Stderr);
    }

    private static Task ExpectReopenedAsync(DaemonSandbox sandbox) =>
        ServiceProtocolTests.WaitForAsync(() => File.Exists(sandbox.LogFile) && sandbox.ReadLog().Contains("SIGUSR1: log files reopened"),
            () => "ferryd did not reopen its log after logrotate: " + (File.Exists(sandbox.LogFile) ? sandbox.ReadLog() : "(no new log file)"));
}
