using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// ferry bench's own correctness against real servers: a clean run, a corrupting peer, bad
/// arguments, an unreachable port. No assertion depends on how fast anything is.
/// </summary>
public sealed class BenchTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("pingpong", "4")]
    [InlineData("bulk", "1")]
    [InlineData("connect", "2")]
    public async Task ACleanRunAgainstFerrydReportsMessagesAndNoErrors(string mode, string conns)
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();

        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["bench", "127.0.0.1", ferryd.Port().ToString(), "--mode", mode, "--conns", conns,
             "--duration", "1", "--warmup", "0.2", "--json"], timeout: Generous);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        JsonElement root = report.RootElement;
        Assert.Equal(mode, root.GetProperty("mode").GetString());
        Assert.True(root.GetProperty("messages").GetInt64() > 0, result.StdoutText);
        Assert.Equal(0, root.GetProperty("errors").GetInt64());
        Assert.Equal(0, root.GetProperty("corruptBytes").GetInt64());
        if (mode != "bulk")
        {
            JsonElement latency = root.GetProperty("latencyMicroseconds");
            Assert.True(latency.GetProperty("p50").GetDouble() <= latency.GetProperty("p99").GetDouble());
            Assert.True(latency.GetProperty("p99").GetDouble() <= latency.GetProperty("max").GetDouble());
        }
    }

    [Theory]
    [InlineData("pingpong", "epoll")]
    [InlineData("pingpong", "async")]
    [InlineData("connect", "epoll")]
    [InlineData("connect", "async")]
    [InlineData("bulk", "epoll")]
    [InlineData("bulk", "async")]
    public async Task BothEnginesRunCleanAndSayWhichRan(string mode, string engine)
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();

        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["bench", "127.0.0.1", ferryd.Port().ToString(), "--mode", mode, "--conns", "3", "--engine", engine,
             "--duration", "0.5", "--warmup", "0.1", "--json"], timeout: Generous);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        Assert.Equal(engine, report.RootElement.GetProperty("engine").GetString());
        Assert.True(report.RootElement.GetProperty("messages").GetInt64() > 0, result.StdoutText);
        Assert.Equal(0, report.RootElement.GetProperty("errors").GetInt64());
    }

    [Fact]
    public async Task ChatModeDeliversEveryLineToEveryOtherMember()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=chat");

        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["bench", "127.0.0.1", ferryd.Port("chat").ToString(), "--mode", "chat", "--conns", "4",
             "--duration", "0.5", "--warmup", "0.1", "--json"], timeout: Generous);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        Assert.Equal("chat", report.RootElement.GetProperty("mode").GetString());
        Assert.True(report.RootElement.GetProperty("messages").GetInt64() > 0, result.StdoutText);
        Assert.Equal(0, report.RootElement.GetProperty("errors").GetInt64());
        JsonElement latency = report.RootElement.GetProperty("latencyMicroseconds");
        Assert.True(latency.GetProperty("p50").GetDouble() <= latency.GetProperty("max").GetDouble());
    }

    [Fact]
    public async Task OpenLoopChatDeliversAboutWhatItsRateOffers()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=chat");

        // 5 members × 50 lines/s each, every line to 4 others: 1,000 deliveries/s offered.
        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["bench", "127.0.0.1", ferryd.Port("chat").ToString(), "--mode", "chat", "--conns", "5", "--rate", "50",
             "--duration", "1", "--warmup", "0", "--json"], timeout: Generous);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        JsonElement root = report.RootElement;
        Assert.Equal(0, root.GetProperty("errors").GetInt64());
        Assert.Equal(50, root.GetProperty("rate").GetDouble());
        Assert.Equal(5 * 4 * 50, root.GetProperty("offeredMessagesPerSecond").GetDouble());
        // Wide bounds: this checks the pacing (not closed loop's thousands, not a stalled
        // schedule), never the machine's speed.
        double expected = 5 * 4 * 50 * root.GetProperty("measuredSeconds").GetDouble();
        long deliveries = root.GetProperty("messages").GetInt64();
        Assert.True(deliveries >= expected * 0.5 && deliveries <= expected * 1.5,
            $"{deliveries} deliveries, {expected:0} offered; {result.StdoutText}");
        Assert.Equal(deliveries, root.GetProperty("latencyMicroseconds").GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task AnOpenLoopSlowerThanTheRunEndsCleanly()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();

        // One message every 20 s per connection, in a 1 s run: most connections have nothing
        // to send before the run ends (the last not before 15 s, after the run's 11 s deadline).
        // Their pending wait must end with the run, not fail it.
        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["bench", "127.0.0.1", ferryd.Port().ToString(), "--mode", "pingpong", "--conns", "4", "--rate", "0.2",
             "--duration", "1", "--warmup", "0", "--json"], timeout: Generous);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        Assert.Equal(0, report.RootElement.GetProperty("errors").GetInt64());
    }

    [Fact]
    public async Task ChatModeAgainstAnEchoListenerSaysSoAndExitsOne()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();

        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["bench", "127.0.0.1", ferryd.Port().ToString(), "--mode", "chat", "--conns", "3", "--duration", "1"],
            timeout: Generous);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("is this a chat listener?", result.Stderr);
    }

    [Fact]
    public async Task IdleModeHoldsEveryConnectionAndReadsTheServersMemory()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();

        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["bench", "127.0.0.1", ferryd.Port().ToString(), "--mode", "idle", "--conns", "50",
             "--duration", "0.5", "--warmup", "0.1", "--server-pid", ferryd.Process.Pid.ToString(), "--json"],
            timeout: Generous);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        Assert.Equal(50, report.RootElement.GetProperty("idleConnections").GetInt32());
        Assert.True(report.RootElement.GetProperty("serverRssAfterBytes").GetInt64() > 0);
    }

    [Theory]
    [InlineData("pingpong", "auto")]
    [InlineData("pingpong", "async")]
    [InlineData("bulk", "auto")]
    [InlineData("bulk", "async")]
    public async Task APeerThatFlipsOneByteIsReportedAndFailsTheRun(string mode, string engine)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        Task peer = ServeCorruptingEchoAsync(listener, flipAt: 100, stop.Token);

        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["bench", "127.0.0.1", port.ToString(), "--mode", mode, "--engine", engine, "--duration", "1", "--warmup", "0", "--json"],
            timeout: Generous);
        await stop.CancelAsync();
        await peer;

        Assert.Equal(1, result.ExitCode);
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        Assert.True(report.RootElement.GetProperty("errors").GetInt64() >= 1, result.StdoutText);
        Assert.Equal(1, report.RootElement.GetProperty("corruptBytes").GetInt64());
        Assert.Contains("differed", result.Stderr);
    }

    [Theory]
    [InlineData("--conns", "0")]
    [InlineData("--mode", "sideways")]
    [InlineData("--duration", "-1")]
    [InlineData("--size", "0")]
    [InlineData("--rate", "0")]
    [InlineData("--unknown", "1")]
    [InlineData("--engine", "sideways")]
    [InlineData("--mode", "chat")]
    public async Task BadArgumentsExitTwo(string option, string value)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["bench", "127.0.0.1", "7", option, value], timeout: Generous);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("ferry bench --help", result.Stderr);
    }

    [Theory]
    [InlineData("bulk")]
    [InlineData("connect")]
    [InlineData("idle")]
    public async Task RateOutsidePingPongAndChatExitsTwoWithOneLine(string mode)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["bench", "127.0.0.1", "7", "--mode", mode, "--conns", "2", "--rate", "100"], timeout: Generous);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("ferry: --rate applies to pingpong and chat modes only", result.Stderr.Split('\n')[0]);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task AMissingPortExitsTwo()
    {
        var noPort = await ToolRun.RunAsync(Binaries.Ferry, ["bench", "127.0.0.1"], timeout: Generous);

        Assert.Equal(2, noPort.ExitCode);
        Assert.Contains("missing PORT", noPort.Stderr);
    }

    [Theory]
    [InlineData("idle")]
    [InlineData("chat")]
    public async Task TheEpollEngineForAModeItCannotRunExitsTwo(string mode)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["bench", "127.0.0.1", "7", "--mode", mode, "--conns", "2", "--engine", "epoll"], timeout: Generous);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--engine epoll", result.Stderr);
    }

    [Theory]
    [InlineData("pingpong")]
    [InlineData("connect")]
    [InlineData("idle")]
    public async Task AnUnreachablePortExitsOneWithOneLine(string mode)
    {
        int port = Loopback.FreePort();

        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["bench", "127.0.0.1", port.ToString(), "--mode", mode, "--duration", "1"], timeout: Generous);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"ferry: connect to 127.0.0.1 port {port}: connection refused", result.Stderr.Trim());
    }

    /// <summary>Echoes every connection's bytes back, except the one at stream offset <paramref name="flipAt"/>, inverted.</summary>
    private static async Task ServeCorruptingEchoAsync(TcpListener listener, int flipAt, CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                Socket socket = await listener.AcceptSocketAsync(cancellationToken);
                connections.Add(EchoFlippingAsync(socket, flipAt, cancellationToken));
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(connections);
    }

    private static async Task EchoFlippingAsync(Socket socket, int flipAt, CancellationToken cancellationToken)
    {
        using (socket)
        {
            var buffer = new byte[65536];
            long offset = 0;
            try
            {
                while (true)
                {
                    int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                    if (n == 0)
                        return;
                    if (offset <= flipAt && flipAt < offset + n)
                        buffer[flipAt - offset] ^= 0xFF;
                    offset += n;
                    await Loopback.SendAllAsync(socket, buffer.AsMemory(0, n));
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
            }
        }
    }
}
