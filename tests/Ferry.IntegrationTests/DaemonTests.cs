using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>ferryd start/stop/status/reload as a real detached daemon, checked through /proc.</summary>
public sealed class DaemonTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task StartDetachesIntoItsOwnSessionWithNoTerminalInRootWithStdioOnDevNull()
    {
        await using var sandbox = new DaemonSandbox();
        var started = await sandbox.StartAsync("--listen", "127.0.0.1:0");

        // The starting process has exited (ToolRun waited for it); the daemon lives on.
        Assert.Equal(0, started.ExitCode);
        string line = started.StdoutText.Trim();
        Assert.StartsWith("listening echo 127.0.0.1:", line);
        int port = IPEndPoint.Parse(line.Split(' ')[2]).Port;

        int pid = sandbox.DaemonPid();
        Assert.True(DaemonSandbox.IsAlive(pid));
        string[] stat = File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].Split(' ');
        Assert.Equal(pid.ToString(), stat[3]); // session id == pid: setsid() made it a session leader
        Assert.Equal("0", stat[4]);            // tty_nr 0: no controlling terminal
        Assert.Equal("/", new DirectoryInfo($"/proc/{pid}/cwd").ResolveLinkTarget(false)!.FullName);
        for (int fd = 0; fd <= 2; fd++)
            Assert.Equal("/dev/null", new FileInfo($"/proc/{pid}/fd/{fd}").ResolveLinkTarget(false)!.FullName);

        using var client = await Loopback.ConnectAsync(port);
        await Loopback.SendAllAsync(client, "daemon echo\n"u8.ToArray());
        Assert.Equal("daemon echo\n"u8.ToArray(), await Loopback.ReceiveAsync(client, 12, Generous));
        Assert.Contains("listening echo 127.0.0.1:", sandbox.ReadLog());
    }

    [Fact]
    public async Task RelativePathsOnTheCommandLineStillWorkAfterChdir()
    {
        await using var sandbox = new DaemonSandbox();
        var result = await ToolRun.RunAsync("/bin/sh",
            ["-c", $"cd '{sandbox.Directory}' && exec '{Binaries.Ferryd}' start --listen 127.0.0.1:0 --pid-file run/ferryd.pid --log-file logs/ferryd.log"],
            timeout: Generous);
        Assert.Equal(0, result.ExitCode);
        int pid = sandbox.DaemonPid();
        try
        {
            Assert.Contains("listening echo", sandbox.ReadLog());
        }
        finally
        {
            await sandbox.FerrydAsync("stop", "--pid-file", sandbox.PidFile);
        }
        Assert.False(DaemonSandbox.IsAlive(pid));
    }

    [Fact]
    public async Task BusyPortMakesStartFailWithTheChildsError()
    {
        await using var sandbox = new DaemonSandbox();
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        int port = ((IPEndPoint)occupant.LocalEndpoint).Port;

        var result = await sandbox.StartAsync("--listen", $"127.0.0.1:{port}");

        Assert.Equal(4, result.ExitCode);
        Assert.Equal($"ferryd: cannot listen on 127.0.0.1:{port} (echo): address already in use", result.Stderr.Trim());
        Assert.Empty(result.Stdout);
        Assert.False(File.Exists(sandbox.PidFile), "a failed start left its pid file behind");
    }

    [Fact]
    public async Task SecondStartIsRefusedNamingTheRunningPid()
    {
        await using var sandbox = new DaemonSandbox();
        Assert.Equal(0, (await sandbox.StartAsync("--listen", "127.0.0.1:0")).ExitCode);
        int pid = sandbox.DaemonPid();

        var second = await sandbox.FerrydAsync("start", "--pid-file", sandbox.PidFile, "--log-file", sandbox.LogFile, "--listen", "127.0.0.1:0");

        Assert.Equal(7, second.ExitCode);
        Assert.Equal($"ferryd: already running (pid {pid}, pid file {sandbox.PidFile})", second.Stderr.Trim());
        Assert.Equal(pid, sandbox.DaemonPid());
    }

    [Fact]
    public async Task StalePidFileOfADeadProcessIsTakenOver()
    {
        await using var sandbox = new DaemonSandbox();
        var exited = await ToolRun.RunAsync("/bin/sh", ["-c", "echo $$"]);
        int deadPid = int.Parse(exited.StdoutText.Trim());
        Directory.CreateDirectory(Path.GetDirectoryName(sandbox.PidFile)!);
        File.WriteAllText(sandbox.PidFile, $"{deadPid}\n");

        var result = await sandbox.StartAsync("--listen", "127.0.0.1:0");

        Assert.Equal(0, result.ExitCode);
        Assert.NotEqual(deadPid, sandbox.DaemonPid());
        Assert.True(DaemonSandbox.IsAlive(sandbox.DaemonPid()));
    }

    [Fact]
    public async Task StatusAndStopReportAndEndTheDaemon()
    {
        await using var sandbox = new DaemonSandbox();
        var notRunning = await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile);
        Assert.Equal(3, notRunning.ExitCode);
        Assert.Contains("not running", notRunning.StdoutText);

        var started = await sandbox.StartAsync("--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0=discard");
        Assert.Equal(0, started.ExitCode);
        int pid = sandbox.DaemonPid();
        int echoPort = IPEndPoint.Parse(started.StdoutText.Split('\n')[0].Split(' ')[2]).Port;
        using var client = await Loopback.ConnectAsync(echoPort);
        await Loopback.SendAllAsync(client, "x"u8.ToArray());
        await Loopback.ReceiveAsync(client, 1, Generous);

        var status = await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile);
        Assert.Equal(0, status.ExitCode);
        Assert.Contains($"ferryd is running (pid {pid}, up ", status.StdoutText);
        Assert.Matches($@"(?m)^echo-{echoPort}\s+127\.0\.0\.1:{echoPort}\s+echo\s+{pid}\s+1\s+1\s+0$", status.StdoutText);
        Assert.Matches(@"(?m)^discard-\d+\s+127\.0\.0\.1:\d+\s+discard\s", status.StdoutText);

        var json = await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile, "--json");
        using (var document = JsonDocument.Parse(json.StdoutText))
        {
            Assert.Equal(pid, document.RootElement.GetProperty("pid").GetInt32());
            Assert.Equal(2, document.RootElement.GetProperty("listeners").GetArrayLength());
        }

        var stop = await sandbox.FerrydAsync("stop", "--pid-file", sandbox.PidFile);
        Assert.Equal(0, stop.ExitCode);
        Assert.Equal($"ferryd (pid {pid}) stopped", stop.StdoutText.Trim());
        Assert.False(DaemonSandbox.IsAlive(pid));
        Assert.False(File.Exists(sandbox.PidFile));
        Assert.Empty(await Loopback.ReceiveToEndAsync(client, Generous));
        Assert.Equal(3, (await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile)).ExitCode);
    }

    [Fact]
    public async Task StopKillsADaemonThatOutlivesTheTimeoutAndSaysSo()
    {
        await using var sandbox = new DaemonSandbox();
        // A sink keeps reading while its client keeps sending, up to the 60 s shutdown deadline.
        string sinkFile = Path.Combine(sandbox.Directory, "collected.log");
        var started = await sandbox.StartAsync("--listen", $"127.0.0.1:0=sink,path={sinkFile}", "--shutdown-timeout", "60");
        Assert.Equal(0, started.ExitCode);
        int pid = sandbox.DaemonPid();
        int port = IPEndPoint.Parse(started.StdoutText.Trim().Split(' ')[2]).Port;

        using var client = await Loopback.ConnectAsync(port);
        using var trickling = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var trickle = Task.Run(async () =>
        {
            while (!trickling.IsCancellationRequested)
            {
                await client.SendAsync("still here\n"u8.ToArray(), SocketFlags.None, CancellationToken.None);
                await Task.Delay(200, CancellationToken.None);
            }
        }, CancellationToken.None);

        var stop = await sandbox.FerrydAsync("stop", "--pid-file", sandbox.PidFile, "--timeout", "1");
        await trickling.CancelAsync();
        try
        {
            await trickle;
        }
        catch (SocketException)
        {
            // The killed daemon's socket is gone; sends may fail once the reset arrives.
        }

        Assert.Equal(0, stop.ExitCode);
        Assert.Equal($"ferryd (pid {pid}) did not stop within 1 s; killed it with SIGKILL", stop.StdoutText.Trim());
        Assert.False(DaemonSandbox.IsAlive(pid));
        Assert.False(File.Exists(sandbox.PidFile));
    }

    [Fact]
    public async Task ReloadAddsAndRemovesListenersWhileUnchangedOnesKeepTheirClients()
    {
        await using var sandbox = new DaemonSandbox();
        int kept = Loopback.FreePort(), removed = Loopback.FreePort(), added = Loopback.FreePort();
        sandbox.WriteConfig(Config(("kept", kept, "echo"), ("removed", removed, "daytime")));
        Assert.Equal(0, (await sandbox.StartAsync("--config", sandbox.ConfigFile)).ExitCode);

        using var client = await Loopback.ConnectAsync(kept);
        await RoundTripAsync(client, "before reload\n");

        sandbox.WriteConfig(Config(("kept", kept, "echo"), ("added", added, "chargen")));
        var reload = await sandbox.FerrydAsync("reload", "--pid-file", sandbox.PidFile);
        Assert.Equal(0, reload.ExitCode);
        Assert.Contains("1 listener(s) added, 1 removed, 1 unchanged", reload.StdoutText);

        await RoundTripAsync(client, "after reload\n");
        using (var chargen = await Loopback.ConnectAsync(added))
            Assert.Equal(74, (await Loopback.ReceiveAsync(chargen, 74, Generous)).Length);
        var refused = await Assert.ThrowsAsync<SocketException>(() => Loopback.ConnectAsync(removed));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        // A broken file is rejected: reload says why, and everything keeps running as it was.
        File.WriteAllText(sandbox.ConfigFile, "{ \"Listeners\": { \"kept\": ");
        var broken = await sandbox.FerrydAsync("reload", "--pid-file", sandbox.PidFile);
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("reload rejected, old configuration kept", broken.Stderr);
        Assert.Contains("not valid JSON", broken.Stderr);
        await RoundTripAsync(client, "after a bad reload\n");
        using (var chargen = await Loopback.ConnectAsync(added))
            Assert.Equal(74, (await Loopback.ReceiveAsync(chargen, 74, Generous)).Length);

        // A new listener on a busy port is rejected whole, too.
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        int busy = ((IPEndPoint)occupant.LocalEndpoint).Port;
        sandbox.WriteConfig(Config(("kept", kept, "echo"), ("busy", busy, "echo")));
        var busyReload = await sandbox.FerrydAsync("reload", "--pid-file", sandbox.PidFile);
        Assert.Equal(1, busyReload.ExitCode);
        Assert.Contains("address already in use", busyReload.Stderr);
        Assert.Contains("(listener busy, echo): address already in use", busyReload.Stderr); // named as the file names it
        using (var chargen = await Loopback.ConnectAsync(added))
            Assert.Equal(74, (await Loopback.ReceiveAsync(chargen, 74, Generous)).Length);
        await RoundTripAsync(client, "still here\n");
    }

    [Fact]
    public async Task Usr1AfterTheLogFileWasMovedStartsANewOne()
    {
        await using var sandbox = new DaemonSandbox();
        var started = await sandbox.StartAsync("--listen", "127.0.0.1:0", "--log-level", "debug");
        Assert.Equal(0, started.ExitCode);
        int port = IPEndPoint.Parse(started.StdoutText.Trim().Split(' ')[2]).Port;

        string rotated = sandbox.LogFile + ".1";
        File.Move(sandbox.LogFile, rotated);
        Signals.Send(sandbox.DaemonPid(), 10);
        await ServiceProtocolTests.WaitForAsync(() => File.Exists(sandbox.LogFile), () => "no new log file after SIGUSR1");

        using (var client = await Loopback.ConnectAsync(port))
            await RoundTripAsync(client, "after rotation\n");
        await ServiceProtocolTests.WaitForAsync(() => sandbox.ReadLog().Contains("says: after rotation"),
            () => "new log file does not receive lines: " + sandbox.ReadLog());
        Assert.DoesNotContain("after rotation", File.ReadAllText(rotated));
        Assert.Contains("SIGUSR1: log files reopened", sandbox.ReadLog());
    }

    [Fact]
    public async Task CheckConfigPrintsTheEffectiveListenersOrNamesTheProblem()
    {
        await using var sandbox = new DaemonSandbox();
        sandbox.WriteConfig(Config(("first", 7101, "echo"), ("second", 7102, "daytime")));
        var ok = await sandbox.FerrydAsync("check-config", "--config", sandbox.ConfigFile);
        Assert.Equal(0, ok.ExitCode);
        Assert.Contains("listener first 127.0.0.1:7101=echo", ok.StdoutText);
        Assert.Contains("listener second 127.0.0.1:7102=daytime", ok.StdoutText);

        sandbox.WriteConfig("""{ "Listeners": { "x": { "Endpoint": "127.0.0.1:7", "Service": "nosuch" } } }""");
        var bad = await sandbox.FerrydAsync("check-config", "--config", sandbox.ConfigFile);
        Assert.Equal(6, bad.ExitCode);
        Assert.Contains("config key Listeners:x", bad.Stderr);
        Assert.Contains("unknown service 'nosuch'", bad.Stderr);

        File.WriteAllText(sandbox.ConfigFile, "{\n  \"Listeners\": {\n    \"x\": { \"Endpoint\": 7,, }\n  }\n}\n");
        var malformed = await sandbox.FerrydAsync("check-config", "--config", sandbox.ConfigFile);
        Assert.Equal(6, malformed.ExitCode);
        Assert.Contains("not valid JSON", malformed.Stderr);
        Assert.Contains("LineNumber: 2", malformed.Stderr);
        Assert.Single(malformed.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task EnvironmentAndOptionsOverrideTheFile()
    {
        await using var sandbox = new DaemonSandbox();
        sandbox.WriteConfig("""{ "Listeners": { "e": { "Endpoint": "127.0.0.1:7103" } }, "Logging": { "Level": "error" }, "ShutdownTimeout": 9 }""");
        var info = new System.Diagnostics.ProcessStartInfo(Binaries.Ferryd) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string arg in new[] { "check-config", "--config", sandbox.ConfigFile, "--shutdown-timeout", "2" })
            info.ArgumentList.Add(arg);
        info.Environment["FERRY_Logging__Level"] = "debug";
        info.Environment["FERRY_ShutdownTimeout"] = "7";
        using var process = System.Diagnostics.Process.Start(info)!;
        string output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, process.ExitCode);
        Assert.Contains("logging debug to console", output);
        Assert.Contains("shutdown timeout 2 s", output);
    }

    private static async Task RoundTripAsync(Socket client, string text)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        await Loopback.SendAllAsync(client, bytes);
        Assert.Equal(bytes, await Loopback.ReceiveAsync(client, bytes.Length, Generous));
    }

    private static string Config(params (string Name, int Port, string Service)[] listeners) =>
        "{ \"Listeners\": { "
        + string.Join(", ", listeners.Select(l => $"\"{l.Name}\": {{ \"Endpoint\": \"127.0.0.1:{l.Port}\", \"Service\": \"{l.Service}\" }}"))
        + " } }";
}
