using System.Net;
using System.Net.Sockets;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// forward on a udp: listener: a session per client address to an upstream (ferryd's udp echo, or
/// a socket of the test's that reports who sent what), ended when idle, bounded in number, and an upstream that
/// answers "port unreachable" left alone for a while.
/// </summary>
public sealed class UdpForwardTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task NcAndTwoClientsAtOnceGetTheirOwnRepliesFromAnEchoUpstream()
    {
        // The upstream is another ferryd's udp echo: socat's UDP4-RECVFROM,fork races its children
        // for the next datagram under load, and its UDP4-LISTEN,fork mixes up senders.
        string nc = ExternalTool.Require("nc");
        await using var echo = await FerrydProcess.StartAsync(1, "--listen", "udp:127.0.0.1:0=echo");
        int upstream = echo.UdpPort();
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"udp:127.0.0.1:0=forward,to=127.0.0.1:{upstream}");
        int port = ferryd.UdpPort("forward");
        using var first = Connected(port);
        using var second = Connected(port);

        var viaNc = await ToolRun.RunAsync(nc, ["-u", "-w", "2", "127.0.0.1", port.ToString()], "through the forward\n"u8.ToArray(), Generous);
        for (int i = 0; i < 10; i++)
        {
            await first.SendAsync(Encoding.ASCII.GetBytes($"first {i}"), TestContext.Current.CancellationToken);
            await second.SendAsync(Encoding.ASCII.GetBytes($"second {i}"), TestContext.Current.CancellationToken);
            Assert.Equal($"first {i}", await ReceiveTextAsync(first));
            Assert.Equal($"second {i}", await ReceiveTextAsync(second));
        }

        Assert.Equal("through the forward\n", viaNc.StdoutText);
    }

    [Fact]
    public async Task ASessionKeepsItsSocketWhileUsedEndsWhenIdleAndNewClientsPastMaxSessionsAreDropped()
    {
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        upstream.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int upstreamPort = ((IPEndPoint)upstream.LocalEndPoint!).Port;
        await using var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", $"udp:127.0.0.1:0=forward,to=127.0.0.1:{upstreamPort},sessionTimeout=1,maxSessions=1", "--metrics", "0");
        int port = ferryd.UdpPort("forward");
        using var client = Connected(port);
        using var latecomer = Connected(port);

        var first = await RelayOnceAsync(upstream, client, "one");
        var second = await RelayOnceAsync(upstream, client, "two");
        await latecomer.SendAsync("me too"u8.ToArray(), TestContext.Current.CancellationToken);
        Assert.Null(await ReceiveFromAsync(upstream, TimeSpan.FromMilliseconds(700)));
        await Task.Delay(TimeSpan.FromSeconds(2.5), TestContext.Current.CancellationToken);
        var afterIdle = await RelayOnceAsync(upstream, client, "three");

        Assert.Equal(first, second);         // one session, one socket, while it is used
        Assert.NotEqual(first, afterIdle);   // idle past sessionTimeout: a new session, a new socket
        var scrape = await Scrape.GetAsync(ferryd.Port("metrics"));
        Assert.Equal(1, scrape.Value("ferry_datagrams_dropped_total", ("listener", $"forward-udp-{port}"), ("reason", "sessionsFull")));
    }

    [Fact]
    public async Task AnUpstreamThatRefusesIsLoggedOnceAndLeftAloneWhileAnotherServes()
    {
        int dead = Loopback.FreePort();
        using var live = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        live.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int livePort = ((IPEndPoint)live.LocalEndPoint!).Port;
        await using var ferryd = await FerrydProcess.StartAsync(1,
            "--listen", $"udp:127.0.0.1:0=forward,to=127.0.0.1:{dead};127.0.0.1:{livePort},balance=first");
        int port = ferryd.UdpPort("forward");

        // balance=first: the first client's session goes to the dead upstream, whose ICMP "port
        // unreachable" ends it; the next clients' go to the live one while the dead one rests.
        using var unlucky = Connected(port);
        await unlucky.SendAsync("anyone?"u8.ToArray(), TestContext.Current.CancellationToken);
        string refused = await StderrLineWithAsync(ferryd, "its session ended");
        for (int i = 0; i < 3; i++)
        {
            using var client = Connected(port);
            await RelayOnceAsync(live, client, $"client {i}");
        }

        Assert.Contains($"upstream 127.0.0.1:{dead}: connection refused; its session ended", refused);
    }

    private static async Task<string> StderrLineWithAsync(FerrydProcess ferryd, string text)
    {
        while (true)
        {
            string line = await ferryd.Process.ReadStderrLineAsync(Generous);
            if (line.Contains(text, StringComparison.Ordinal))
                return line;
        }
    }

    private static Socket Connected(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(IPAddress.Loopback, port);
        return socket;
    }

    /// <summary>The client's datagram arrives at the upstream, which answers it: from which port of ferryd's it came.</summary>
    private static async Task<int> RelayOnceAsync(Socket upstream, Socket client, string text)
    {
        await client.SendAsync(Encoding.ASCII.GetBytes(text), TestContext.Current.CancellationToken);
        var received = await ReceiveFromAsync(upstream, Generous);
        Assert.NotNull(received);
        Assert.Equal(text, received.Value.Text);
        await upstream.SendToAsync(Encoding.ASCII.GetBytes("re: " + text), received.Value.From, TestContext.Current.CancellationToken);
        Assert.Equal("re: " + text, await ReceiveTextAsync(client));
        return ((IPEndPoint)received.Value.From).Port;
    }

    private static async Task<(string Text, EndPoint From)?> ReceiveFromAsync(Socket socket, TimeSpan timeout)
    {
        var buffer = new byte[65_536];
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), deadline.Token);
            return (Encoding.ASCII.GetString(buffer, 0, result.ReceivedBytes), result.RemoteEndPoint);
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static async Task<string?> ReceiveTextAsync(Socket socket)
    {
        var buffer = new byte[65_536];
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(Generous);
        int length = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
        return Encoding.ASCII.GetString(buffer, 0, length);
    }
}
