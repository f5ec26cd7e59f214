using System.Net.Sockets;
using Ferry.IntegrationTests.Infrastructure;
using static Ferry.IntegrationTests.Infrastructure.SourceBoundSocket;

namespace Ferry.IntegrationTests;

/// <summary>
/// Each listener limit of docs/security.md against a real ferryd: the refusal (or close),
/// what the refused client and the log see, and that other clients are not affected.
/// </summary>
public sealed class ListenerLimitTests
{
    [Fact]
    public async Task MaxConnectionsRefusesTheNextClientAndKeepsServingTheOthers()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=echo,maxConnections=2");
        int port = ferryd.Port();
        using var first = await Loopback.ConnectAsync(port);
        using var second = await Loopback.ConnectAsync(port);
        Assert.True(await EchoesAsync(first));
        Assert.True(await EchoesAsync(second));

        using var third = await Loopback.ConnectAsync(port);
        // echo is a raw byte stream: a refused client gets a close, no text.
        Assert.Equal("", await ReadUntilClosedAsync(third));
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("too many connections (maxConnections 2)"),
            () => "refusal not logged: " + ferryd.Process.StandardError);
        Assert.True(await EchoesAsync(first, "still"));
        Assert.True(await EchoesAsync(second, "here"));

        first.Dispose();
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("close 127.0.0.1:"),
            () => "first close not logged: " + ferryd.Process.StandardError);
        using var fourth = await Loopback.ConnectAsync(port);
        Assert.True(await EchoesAsync(fourth), "a place freed by a close is available again");
    }

    [Fact]
    public async Task MaxConnectionsPerIpRefusesThatSourceOnlyAndSaysWhyOnALineService()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=chat,maxConnectionsPerIp=2,exempt=none");
        int port = ferryd.Port("chat");
        using var a1 = await ConnectAsync(Second, port);
        using var a2 = await ConnectAsync(Second, port);
        Assert.StartsWith("* you are guest-", await ReadLineAsync(a1));
        Assert.StartsWith("* you are guest-", await ReadLineAsync(a2));

        using var a3 = await ConnectAsync(Second, port);
        Assert.Equal("! too many connections from your address\n", await ReadUntilClosedAsync(a3));

        using var b1 = await ConnectAsync(Third, port);
        Assert.StartsWith("* you are guest-", await ReadLineAsync(b1));
        await LoggedAsync(ferryd, "refused 127.0.0.2:");
        await LoggedAsync(ferryd, "too many connections from 127.0.0.2 (maxConnectionsPerIp 2)");
        Assert.DoesNotContain("refused 127.0.0.3", ferryd.Process.StandardError);
    }

    [Fact]
    public async Task LoopbackIsExemptFromPerSourceLimitsUnlessExemptIsChanged()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=echo,maxConnectionsPerIp=1");
        using var one = await Loopback.ConnectAsync(ferryd.Port());
        using var two = await Loopback.ConnectAsync(ferryd.Port());
        Assert.True(await EchoesAsync(one));
        Assert.True(await EchoesAsync(two));
        Assert.DoesNotContain("refused", ferryd.Process.StandardError);
    }

    [Fact]
    public async Task ConnectionRateRefusesABurstFromOneSourceAndRecovers()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=chat,connectionRate=1,connectionBurst=3,exempt=none");
        int port = ferryd.Port("chat");
        for (int i = 0; i < 3; i++)
        {
            using var allowed = await ConnectAsync(Second, port);
            Assert.StartsWith("* you are guest-", await ReadLineAsync(allowed));
        }
        using (var beyond = await ConnectAsync(Second, port))
            Assert.Equal("! too many new connections from your address, slow down\n", await ReadUntilClosedAsync(beyond));

        using (var other = await ConnectAsync(Third, port))
            Assert.StartsWith("* you are guest-", await ReadLineAsync(other));

        // The bucket refills at 1 per second: the source gets in again by itself.
        bool servedAgain = false;
        for (int attempt = 0; attempt < 40 && !servedAgain; attempt++)
        {
            await Task.Delay(500, TestContext.Current.CancellationToken);
            using var retry = await ConnectAsync(Second, port);
            servedAgain = (await ReadUntilFirstLineOrCloseAsync(retry)).StartsWith("* you are guest-", StringComparison.Ordinal);
        }
        Assert.True(servedAgain, "the rate limit did not recover: " + ferryd.Process.StandardError);
        await LoggedAsync(ferryd, "connectionRate 1/s, burst 3");
    }

    [Fact]
    public async Task IdleTimeoutClosesASilentConnectionButNotABusyOne()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=echo,idleTimeout=2");
        int port = ferryd.Port();
        using var silent = await Loopback.ConnectAsync(port);
        using var busy = await Loopback.ConnectAsync(port);

        var closed = ReadUntilClosedAsync(silent);
        // Traffic every 200 ms keeps a connection alive however long the silent one takes to go.
        while (!closed.IsCompleted)
        {
            Assert.True(await EchoesAsync(busy, "k"));
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        Assert.Equal("", await closed);
        Assert.True(await EchoesAsync(busy, "alive"));
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains(": idle timeout, in 0 B, out 0 B"),
            () => "idle close not logged: " + ferryd.Process.StandardError);
    }

    [Fact]
    public async Task FirstByteTimeoutClosesAClientThatNeverSpeaks()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=echo,firstByteTimeout=1");
        int port = ferryd.Port();
        using var talker = await Loopback.ConnectAsync(port);
        Assert.True(await EchoesAsync(talker, "hello"));
        using var mute = await Loopback.ConnectAsync(port);

        Assert.Equal("", await ReadUntilClosedAsync(mute));
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains(": first byte timeout,"),
            () => "first-byte close not logged: " + ferryd.Process.StandardError);
        // Silent now, but it spoke first: only idleTimeout (300 s) applies to it.
        Assert.True(await EchoesAsync(talker, "still here"));
    }

    [Theory]
    [InlineData("allow=127.0.0.2")]
    [InlineData("allow=127.0.0.0/8,deny=127.0.0.3/32")]
    public async Task AllowAndDenyAreCheckedBeforeTheServiceSeesAByte(string rule)
    {
        // At Debug, so that an open line would be written too.
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=echo,{rule}", "--log-level", "debug");
        int port = ferryd.Port();
        using var allowed = await ConnectAsync(Second, port);
        using var denied = await ConnectAsync(Third, port);
        Assert.True(await EchoesAsync(allowed));
        await Loopback.SendAllAsync(denied, "never echoed"u8.ToArray());
        Assert.Equal("", await ReadUntilClosedAsync(denied));
        await LoggedAsync(ferryd, "refused 127.0.0.3:");
        await LoggedAsync(ferryd, "not allowed by the listener's allow/deny lists");
        Assert.DoesNotContain("open 127.0.0.3", ferryd.Process.StandardError);
        Assert.True(await EchoesAsync(allowed, "unaffected"));
    }

    [Fact]
    public async Task ChargenServesLoopbackByDefaultAndADenyStillApplies()
    {
        await using var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", "127.0.0.1:0=chargen", "--listen", "127.0.0.1:0=chargen,deny=127.0.0.2");
        using var local = await ConnectAsync(Second, ferryd.Listeners[0].EndPoint.Port);
        Assert.Equal(74, (await Loopback.ReceiveAsync(local, 74, TimeSpan.FromSeconds(15))).Length);

        using var denied = await ConnectAsync(Second, ferryd.Listeners[1].EndPoint.Port);
        Assert.Equal("", await ReadUntilClosedAsync(denied));
    }

    [Theory]
    [InlineData("127.0.0.1:0=echo,maxConnections=-1", "maxConnections=-1: not a whole number")]
    [InlineData("127.0.0.1:0=echo,allow=10.1.2.3/8", "did you mean 10.0.0.0/8?")]
    [InlineData("127.0.0.1:0=echo,allow=nonsense", "'nonsense' is not an address or CIDR range")]
    [InlineData("127.0.0.1:0=echo,tls=on", "tls=on needs cert=FILE")]
    [InlineData("127.0.0.1:0=echo,cert=/nonexistent/ferry.pem", "cannot read TLS certificate or key")]
    public async Task BadListenerKeysAreUsageErrors(string listener, string problem)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", listener]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(problem, result.Stderr);
    }

    /// <summary>Waits for a log line: ferryd writes it before it closes the peer, but our reader of its stderr may lag.</summary>
    private static Task LoggedAsync(FerrydProcess ferryd, string text) =>
        ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains(text, StringComparison.Ordinal),
            () => $"'{text}' not logged: {ferryd.Process.StandardError}");

    private static async Task<string> ReadLineAsync(Socket socket)
    {
        string line = await ReadUntilFirstLineOrCloseAsync(socket);
        Assert.EndsWith("\n", line);
        return line;
    }

    private static async Task<string> ReadUntilFirstLineOrCloseAsync(Socket socket)
    {
        var text = new System.Text.StringBuilder();
        var one = new byte[1];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(one, SocketFlags.None, cts.Token);
            }
            catch (SocketException)
            {
                return text.ToString();
            }
            if (n == 0)
                return text.ToString();
            text.Append((char)one[0]);
            if (one[0] == '\n')
                return text.ToString();
        }
    }
}
