using System.Net;
using System.Net.Sockets;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>systemd's side of the contract, played for real: NOTIFY_SOCKET and socket activation.</summary>
public sealed class SystemdTests
{
    [Fact]
    public async Task ReadinessAndStoppingAreNotifiedOnNotifySocket()
    {
        string directory = Directory.CreateTempSubdirectory("ferry-notify-").FullName;
        string path = Path.Combine(directory, "notify");
        try
        {
            using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            notify.Bind(new UnixDomainSocketEndPoint(path));
            // RUNTIME_DIRECTORY as systemd sets it for RuntimeDirectory=: the pid file goes there, not to /run.
            await using var ferryd = RunningProcess.Start(Binaries.Ferryd, ["--listen", "127.0.0.1:0"],
                environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = path, ["RUNTIME_DIRECTORY"] = directory });

            string ready = await ReceiveAsync(notify);
            Assert.Contains("READY=1", ready.Split('\n'));
            Assert.Contains($"MAINPID={ferryd.Pid}", ready.Split('\n'));
            string listening = await ferryd.ReadStdoutLineAsync(TimeSpan.FromSeconds(10));
            Assert.StartsWith("listening echo 127.0.0.1:", listening);

            // While running, STATUS= keeps "systemctl status" current with the connection counts.
            using var client = await Loopback.ConnectAsync(IPEndPoint.Parse(listening.Split(' ')[2]).Port);
            string status = await ReceiveAsync(notify);
            Assert.Equal("STATUS=1 open connection(s) on 1 listener(s), 1 accepted", status);

            ferryd.Signal(Signals.SigTerm);
            Assert.Contains("STOPPING=1", (await ReceiveAsync(notify)).Split('\n'));
            Assert.Equal(0, await ferryd.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task UnderSystemdTheForegroundFerrydKeepsItsPidFileAndStatusSocketInTheRuntimeDirectory()
    {
        using var directory = new TempDirectory();
        string runtime = Directory.CreateDirectory(directory.File("run")).FullName;
        using var notify = BoundNotifySocket(directory.File("notify"));
        var systemd = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = directory.File("notify"), ["RUNTIME_DIRECTORY"] = runtime };
        await using var ferryd = RunningProcess.Start(Binaries.Ferryd, ["--listen", "127.0.0.1:0"], environment: systemd);
        Assert.Contains("READY=1", (await ReceiveAsync(notify)).Split('\n'));
        string listening = await ferryd.ReadStdoutLineAsync(TimeSpan.FromSeconds(10));

        string pidFile = Path.Combine(runtime, "ferryd.pid");
        Assert.Equal($"{ferryd.Pid}\n", File.ReadAllText(pidFile));
        // "ferryd status" run by systemd (ExecReload=, RUNTIME_DIRECTORY set) finds it with no options...
        var status = await RunFerrydAsync(["status"], new() { ["RUNTIME_DIRECTORY"] = runtime });
        Assert.Equal(0, status.ExitCode);
        Assert.Contains($"ferryd is running (pid {ferryd.Pid}, up ", status.Stdout);
        string address = listening.Split(' ')[2];
        Assert.Matches($@"(?m)^echo-{address.Split(':')[1]}\s+{address.Replace(".", "\\.", StringComparison.Ordinal)}\s+echo\s+{ferryd.Pid}\s+0\s+0\s+0$", status.Stdout);
        // ...and so does anyone with --pid-file.
        Assert.Equal(0, (await RunFerrydAsync(["status", "--pid-file", pidFile], [])).ExitCode);

        ferryd.Signal(Signals.SigTerm);
        Assert.Equal(0, await ferryd.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.Empty(Directory.GetFiles(runtime));
    }

    [Fact]
    public async Task UnderSystemdAConfiguredPidFileIsUsed()
    {
        using var directory = new TempDirectory();
        string runtime = Directory.CreateDirectory(directory.File("run")).FullName;
        string config = directory.File("ferryd.json");
        File.WriteAllText(config, """{ "PidFile": "configured.pid", "Listeners": { "e": { "Endpoint": "127.0.0.1:0" } } }""");
        using var notify = BoundNotifySocket(directory.File("notify"));
        await using var ferryd = RunningProcess.Start(Binaries.Ferryd, ["--config", config],
            environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = directory.File("notify"), ["RUNTIME_DIRECTORY"] = runtime });
        Assert.Contains("READY=1", (await ReceiveAsync(notify)).Split('\n'));

        Assert.Equal($"{ferryd.Pid}\n", File.ReadAllText(directory.File("configured.pid")));
        Assert.Empty(Directory.GetFiles(runtime));
        var status = await RunFerrydAsync(["status", "--config", config], []);
        Assert.Equal(0, status.ExitCode);
        Assert.Contains($"ferryd is running (pid {ferryd.Pid}, up ", status.Stdout);
    }

    [Fact]
    public async Task TheUnitsReloadCommandReloadsWhatItsStartCommandStarted()
    {
        var unit = File.ReadAllLines(Repository.PathOf("contrib/systemd/ferryd.service"));
        string Command(string key) => unit.Single(line => line.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..];
        using var directory = new TempDirectory();
        string runtime = Directory.CreateDirectory(directory.File("run")).FullName;
        string config = directory.File("ferryd.json");
        int port = Loopback.FreePort();
        File.WriteAllText(config, $$"""{ "Listeners": { "e": { "Endpoint": "127.0.0.1:{{port}}" } } }""");
        // The unit's own command lines, with this machine's paths.
        string[] Local(string command) => command.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(word => word switch
        {
            "/usr/local/lib/ferry/ferryd" => Binaries.Ferryd,
            "/etc/ferryd/ferryd.json" => config,
            "/var/log/ferryd" => directory.File("logs"),
            _ => word,
        }).ToArray();
        string[] start = Local(Command("ExecStart")), reload = Local(Command("ExecReload"));

        using var notify = BoundNotifySocket(directory.File("notify"));
        await using var ferryd = RunningProcess.Start(start[0], start[1..],
            environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = directory.File("notify"), ["RUNTIME_DIRECTORY"] = runtime });
        Assert.Contains("READY=1", (await ReceiveAsync(notify)).Split('\n'));

        int added = Loopback.FreePort();
        File.WriteAllText(config, $$"""{ "Listeners": { "e": { "Endpoint": "127.0.0.1:{{port}}" }, "d": { "Endpoint": "127.0.0.1:{{added}}", "Service": "daytime" } } }""");
        var reloaded = await RunFerrydAsync(reload[1..], new() { ["RUNTIME_DIRECTORY"] = runtime }, reload[0]);
        Assert.Equal(0, reloaded.ExitCode);
        Assert.Equal($"ferryd (pid {ferryd.Pid}) reloaded: 1 listener(s) added, 0 removed, 1 unchanged", reloaded.Stdout.Trim());
        using var daytime = await Loopback.ConnectAsync(added);
    }

    [Fact]
    public async Task SocketActivationServesTheInheritedSocket()
    {
        string activate = ExternalTool.Require("systemd-socket-activate");
        int port = Loopback.FreePort();
        string directory = Directory.CreateTempSubdirectory("ferry-activate-").FullName;
        string config = Path.Combine(directory, "ferryd.json");
        // The listener is matched by name (--fdname); its own endpoint would be busy anyway.
        File.WriteAllText(config, $$"""{ "Listeners": { "inherited": { "Endpoint": "127.0.0.1:{{port}}", "Service": "echo" } } }""");
        try
        {
            await using var activator = RunningProcess.Start(activate,
                ["-l", $"127.0.0.1:{port}", "--fdname=inherited", Binaries.Ferryd, "--config", config, "--log-level", "debug"]);
            await ActivatorListeningAsync(activator);

            using var client = await Loopback.ConnectAsync(port);
            byte[] hello = "through systemd's socket\n"u8.ToArray();
            await Loopback.SendAllAsync(client, hello);
            Assert.Equal(hello, await Loopback.ReceiveAsync(client, hello.Length, TimeSpan.FromSeconds(30)));
            Assert.Equal($"listening echo 127.0.0.1:{port}", await activator.ReadStdoutLineAsync(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task SocketActivationPassesAUnixSocketMatchedByItsPath()
    {
        string activate = ExternalTool.Require("systemd-socket-activate");
        string directory = Directory.CreateTempSubdirectory("ferry-activate-").FullName;
        string path = Path.Combine(directory, "echo.sock");
        try
        {
            // No --fdname: the listener takes the inherited socket bound to its path (ListenStream=/path).
            await using var activator = RunningProcess.Start(activate, ["-l", path, Binaries.Ferryd, "--listen", $"unix:{path}=echo"]);
            await ActivatorListeningAsync(activator);

            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken);
            byte[] hello = "through systemd's unix socket\n"u8.ToArray();
            await Loopback.SendAllAsync(client, hello);
            Assert.Equal(hello, await Loopback.ReceiveAsync(client, hello.Length, TimeSpan.FromSeconds(30)));
            Assert.Equal($"listening echo unix:{path}", await activator.ReadStdoutLineAsync(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task SocketActivationPassesAUdpSocket()
    {
        string activate = ExternalTool.Require("systemd-socket-activate");
        int port = Loopback.FreePort();
        // ListenDatagram=: the inherited socket is a datagram one, which only a udp: listener takes.
        await using var activator = RunningProcess.Start(activate,
            ["--datagram", "-l", $"127.0.0.1:{port}", Binaries.Ferryd, "--listen", $"udp:127.0.0.1:{port}=echo"]);
        await ActivatorListeningAsync(activator);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Connect(IPAddress.Loopback, port);
        var reply = new byte[100];
        int length = 0;
        // The first datagram starts ferryd; a datagram that came before it was ready may go unanswered, so ask again.
        for (int attempt = 0; attempt < 20 && length == 0; attempt++)
        {
            await client.SendAsync("through systemd's udp socket"u8.ToArray(), TestContext.Current.CancellationToken);
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                length = await client.ReceiveAsync(reply, SocketFlags.None, wait.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
        Assert.Equal("through systemd's udp socket", Encoding.ASCII.GetString(reply, 0, length));
        Assert.Equal($"listening echo udp:127.0.0.1:{port}", await activator.ReadStdoutLineAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AnInheritedSocketOfAnotherKindIsRefusedByName()
    {
        string activate = ExternalTool.Require("systemd-socket-activate");
        int port = Loopback.FreePort();
        string directory = Directory.CreateTempSubdirectory("ferry-activate-").FullName;
        string config = Path.Combine(directory, "ferryd.json");
        File.WriteAllText(config, $$"""{ "Listeners": { "dns": { "Endpoint": "udp:127.0.0.1:{{port}}", "Service": "echo" } } }""");
        try
        {
            // Named like the listener, but a stream socket: no udp: listener can serve it.
            await using var activator = RunningProcess.Start(activate,
                ["-l", $"127.0.0.1:{port}", "--fdname=dns", Binaries.Ferryd, "--config", config]);
            await ActivatorListeningAsync(activator);
            using (var trigger = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
                await trigger.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);

            Assert.Equal(4, await activator.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains($"cannot listen on udp:127.0.0.1:{port} (echo): the inherited socket 'dns' is a TCP socket (ListenStream=PORT), which a udp listener cannot serve",
                activator.StandardError);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task ActivatorListeningAsync(RunningProcess activator)
    {
        // systemd-socket-activate says "Listening on ..." on stderr once its socket is bound.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!activator.StandardError.Contains("Listening on", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail("systemd-socket-activate did not start listening: " + activator.StandardError);
            await Task.Delay(50);
        }
    }

    private static Socket BoundNotifySocket(string path)
    {
        var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(path));
        return notify;
    }

    private static async Task<(int ExitCode, string Stdout)> RunFerrydAsync(string[] args, Dictionary<string, string> environment, string? file = null)
    {
        await using var process = RunningProcess.Start(file ?? Binaries.Ferryd, args, binaryStdout: true, environment: environment);
        int exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, Encoding.UTF8.GetString(await process.StdoutBytesAsync()));
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }
}
