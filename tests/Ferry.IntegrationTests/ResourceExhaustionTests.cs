using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>Running out of file descriptors, accept bursts and reset floods: ferryd stays healthy.</summary>
public sealed class ResourceExhaustionTests
{
    // A framework-dependent ferryd holds about 100 descriptors for its assemblies before it
    // serves anyone, so it cannot start under "ulimit -n 64"; 256 leaves it about 140.
    private const int DescriptorLimit = 256;
    private const int Clients = 320;

    [Fact]
    public async Task OutOfDescriptorsIsLoggedOnceExistingClientsKeepBeingServedAndItRecovers()
    {
        await using var ferryd = RunningProcess.Start("/bin/sh",
            ["-c", $"ulimit -n {DescriptorLimit} && exec \"$0\" --listen 127.0.0.1:0=echo", Binaries.Ferryd]);
        string listening = await ferryd.ReadStdoutLineAsync(FerrydProcess.StartupTimeout);
        int port = IPEndPoint.Parse(listening.Split(' ')[2]).Port;

        var clients = new List<Socket>();
        try
        {
            for (int i = 0; i < Clients; i++)
                clients.Add(await Loopback.ConnectAsync(port)); // the kernel completes these even when ferryd cannot take them
            var served = new List<Socket>();
            foreach (var client in clients)
            {
                if (await SourceBoundSocket.EchoesAsync(client, "e"))
                    served.Add(client);
            }
            Assert.InRange(served.Count, 1, DescriptorLimit - 1);
            Assert.True(served.Count < Clients, "every client was served: the limit did not bite");

            // Free some descriptors: a new client is served again.
            foreach (var client in served.Take(60))
                client.Dispose();
            bool again = false;
            for (int attempt = 0; attempt < 50 && !again; attempt++)
            {
                using var fresh = await Loopback.ConnectAsync(port);
                again = await SourceBoundSocket.EchoesAsync(fresh, "back");
                if (!again)
                    await Task.Delay(200, TestContext.Current.CancellationToken);
            }
            Assert.True(again, "no client served after descriptors were freed: " + ferryd.StandardError);
            Assert.True(await SourceBoundSocket.EchoesAsync(served[^1], "old one"), "an old client stopped being served");

            await ServiceProtocolTests.WaitForAsync(() => ferryd.StandardError.Contains("accepting again on echo"),
                () => "no recovery line: " + ferryd.StandardError);
            string log = ferryd.StandardError;
            Assert.Single(Regex.Matches(log, "out of file descriptors on echo"));
            Assert.True(Regex.Matches(log, @"\[WRN\] refused ").Count <= 3, "refusals were not rate-limited in the log");
            Assert.False(ferryd.HasExited);
        }
        finally
        {
            foreach (var client in clients)
                client.Dispose();
        }
    }

    [Fact]
    public async Task ChurnAtTheDescriptorLimitIsOneEpisodeInTheLog()
    {
        await using var ferryd = RunningProcess.Start("/bin/sh",
            ["-c", $"ulimit -n {DescriptorLimit} && exec \"$0\" --listen 127.0.0.1:0=echo", Binaries.Ferryd]);
        string listening = await ferryd.ReadStdoutLineAsync(FerrydProcess.StartupTimeout);
        int port = IPEndPoint.Parse(listening.Split(' ')[2]).Port;

        var held = new List<Socket>();
        try
        {
            // Past the limit: ferryd holds what it can and refuses the rest.
            for (int i = 0; i < Clients; i++)
                held.Add(await Loopback.ConnectAsync(port));
            await ServiceProtocolTests.WaitForAsync(() => ferryd.StandardError.Contains("out of file descriptors on echo"),
                () => "the limit did not bite: " + ferryd.StandardError);

            // Churn right at the limit for three seconds: the oldest leave, more newcomers take their
            // descriptors than they freed, so ferryd keeps meeting its limit.
            var churnUntil = DateTime.UtcNow + TimeSpan.FromSeconds(3);
            while (DateTime.UtcNow < churnUntil)
            {
                foreach (var leaving in held.Take(5).ToArray())
                {
                    leaving.Dispose();
                    held.Remove(leaving);
                }
                for (int i = 0; i < 8; i++)
                    held.Add(await Loopback.ConnectAsync(port));
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
            foreach (var client in held)
                client.Dispose();
            held.Clear();

            // Once nothing has failed for a while, the next client served ends the episode.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!ferryd.StandardError.Contains("accepting again on echo"))
            {
                Assert.True(DateTime.UtcNow < deadline, "no recovery line: " + ferryd.StandardError);
                using var fresh = await Loopback.ConnectAsync(port);
                await SourceBoundSocket.EchoesAsync(fresh, "x");
                await Task.Delay(200, TestContext.Current.CancellationToken);
            }
            string log = ferryd.StandardError;
            Assert.Single(Regex.Matches(log, "out of file descriptors on echo"));
            Assert.Single(Regex.Matches(log, "accepting again on echo"));
        }
        finally
        {
            foreach (var client in held)
                client.Dispose();
        }
    }

    [Fact]
    public async Task AcceptBurstsAndResetFloodsLeaveNoLeakedConnections()
    {
        await using var sandbox = new DaemonSandbox();
        var started = await sandbox.StartAsync("--listen", "127.0.0.1:0=echo");
        Assert.Equal(0, started.ExitCode);
        int port = IPEndPoint.Parse(started.StdoutText.Trim().Split(' ')[2]).Port;

        // 1,000 connects at once, held, then closed.
        var burst = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Loopback.ConnectAsync(port)));
        await WaitForOpenAsync(sandbox, 1000);
        foreach (var socket in burst)
            socket.Dispose();
        await WaitForOpenAsync(sandbox, 0);

        // A reset flood: connect, some with a byte in flight, and close with SO_LINGER 0 (RST).
        await Task.WhenAll(Enumerable.Range(0, 500).Select(async i =>
        {
            using var socket = await Loopback.ConnectAsync(port);
            if (i % 2 == 0)
                await socket.SendAsync("x"u8.ToArray(), SocketFlags.None);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }));
        await WaitForOpenAsync(sandbox, 0);

        using var after = await Loopback.ConnectAsync(port);
        Assert.True(await SourceBoundSocket.EchoesAsync(after, "healthy"));
        var status = await StatusAsync(sandbox);
        Assert.True(status.GetProperty("accepted").GetInt64() >= 1501);
    }

    private static async Task<JsonElement> StatusAsync(DaemonSandbox sandbox)
    {
        var result = await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile, "--json");
        Assert.Equal(0, result.ExitCode);
        return JsonDocument.Parse(result.StdoutText).RootElement.GetProperty("listeners")[0].Clone();
    }

    private static async Task WaitForOpenAsync(DaemonSandbox sandbox, long expected)
    {
        long open = -1;
        for (int attempt = 0; attempt < 100; attempt++)
        {
            open = (await StatusAsync(sandbox)).GetProperty("open").GetInt64();
            if (open == expected)
                return;
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        Assert.Fail($"status says {open} open, expected {expected}");
    }
}
