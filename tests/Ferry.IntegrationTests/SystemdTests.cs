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
            await using var ferryd = RunningProcess.Start(Binaries.Ferryd, ["--listen", "127.0.0.1:0"],
                environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = path });

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

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }
}
