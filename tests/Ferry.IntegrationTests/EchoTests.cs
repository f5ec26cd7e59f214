using System.Net;
using System.Net.Sockets;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>The echo service of a real ferryd, driven by real sockets and nc.</summary>
public sealed class EchoTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task TwoHundredConcurrentClientsEachGetExactlyTheirOwnBytes()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();
        const int clients = 200;
        var sockets = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Loopback.ConnectAsync(ferryd.Port())));
        try
        {
            var rounds = sockets.Select(async (socket, i) =>
            {
                var payload = new byte[16 * 1024 + i];
                new Random(i).NextBytes(payload);
                var receiving = Loopback.ReceiveAsync(socket, payload.Length, Generous);
                await Loopback.SendAllAsync(socket, payload);
                return (payload, echoed: await receiving);
            });
            foreach (var (payload, echoed) in await Task.WhenAll(rounds))
                Assert.Equal(payload, echoed);
            long rss = ProcessMemory.ResidentBytes(ferryd.Process.Pid);
            Assert.True(rss < 512L * 1024 * 1024, $"ferryd RSS with {clients} clients is {rss / 1024 / 1024} MiB");
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    [Fact]
    public async Task NetcatHalfCloseGetsEverythingBackThenEof()
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        await using var ferryd = await FerrydProcess.StartEchoAsync();
        byte[] input = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i}\n")));

        var result = await ToolRun.RunAsync(nc, ["-N", "127.0.0.1", ferryd.Port().ToString()], input);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(input, result.Stdout);
    }

    [Fact]
    public async Task ClientThatNeverReadsDoesNotDelayOthers()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();
        using var stalled = await Loopback.ConnectAsync(ferryd.Port());
        stalled.ReceiveBufferSize = 4096;

        // Send until ferryd stops reading from this client (its echo has nowhere to go):
        // a send that cannot complete within a second means backpressure reached us.
        var chunk = new byte[64 * 1024];
        long sent = 0;
        bool blocked = false;
        while (sent < 256L * 1024 * 1024)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                sent += await stalled.SendAsync(chunk, SocketFlags.None, cts.Token);
            }
            catch (OperationCanceledException)
            {
                blocked = true;
                break;
            }
        }
        Assert.True(blocked, $"ferryd kept reading {sent} bytes from a client that never reads its echo");
        // Memory stays flat while the stalled client keeps trying (ncat and socat would buffer).
        long rssBlocked = ProcessMemory.ResidentBytes(ferryd.Process.Pid);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                sent += await stalled.SendAsync(chunk, SocketFlags.None, cts.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
        long growth = ProcessMemory.ResidentBytes(ferryd.Process.Pid) - rssBlocked;
        Assert.True(growth < 16L * 1024 * 1024, $"ferryd grew by {growth} bytes while a stalled client kept sending");

        // Meanwhile other clients are served normally, one round trip after another.
        var others = Enumerable.Range(0, 20).Select(async i =>
        {
            using var socket = await Loopback.ConnectAsync(ferryd.Port());
            for (int round = 0; round < 50; round++)
            {
                byte[] message = Encoding.ASCII.GetBytes($"client {i} round {round}\n");
                await Loopback.SendAllAsync(socket, message);
                Assert.Equal(message, await Loopback.ReceiveAsync(socket, message.Length, TimeSpan.FromSeconds(10)));
            }
        });
        await Task.WhenAll(others);
        Assert.False(ferryd.Process.HasExited);
    }

    [Fact]
    public async Task PortArgumentServesEchoOnIPv4AndIPv6()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "0");
        var (service, endpoint) = ferryd.Listeners[0];
        Assert.Equal("echo", service);
        Assert.True(endpoint.Address.Equals(IPAddress.IPv6Any) || endpoint.Address.Equals(IPAddress.Any), endpoint.ToString());

        var addresses = new List<IPAddress> { IPAddress.Loopback };
        if (endpoint.Address.Equals(IPAddress.IPv6Any))
            addresses.Add(IPAddress.IPv6Loopback);
        foreach (var address in addresses)
        {
            using var socket = await Loopback.ConnectAsync(endpoint.Port, address);
            byte[] hello = Encoding.ASCII.GetBytes($"hello over {address}\n");
            await Loopback.SendAllAsync(socket, hello);
            Assert.Equal(hello, await Loopback.ReceiveAsync(socket, hello.Length, Generous));
        }
        // IPv4 peers of the dual-stack socket are logged as IPv4, not as ::ffff:127.0.0.1.
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("] close 127.0.0.1:"),
            () => "IPv4 peer not logged as IPv4: " + ferryd.Process.StandardError);
        Assert.DoesNotContain("::ffff:", ferryd.Process.StandardError);
    }

    [Fact]
    public async Task SeveralListenersInOneProcessEachRunTheirService()
    {
        await using var ferryd = await FerrydProcess.StartAsync(3,
            "--listen", "127.0.0.1:0=echo", "--listen", "[::1]:0=daytime", "--listen", "localhost:0=discard");
        Assert.Equal(["echo", "daytime", "discard"], ferryd.Listeners.Take(3).Select(l => l.Service));
        Assert.Equal(IPAddress.IPv6Loopback, ferryd.Listeners[1].EndPoint.Address);

        using var daytime = await Loopback.ConnectAsync(ferryd.Listeners[1].EndPoint.Port, IPAddress.IPv6Loopback);
        byte[] line = await Loopback.ReceiveToEndAsync(daytime, Generous);
        Assert.EndsWith("\r\n", Encoding.ASCII.GetString(line));
    }
}
