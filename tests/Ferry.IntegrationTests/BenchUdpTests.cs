using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// ferry-bench --udp against real UDP peers: the C reference's recvmmsg/sendmmsg echo (built
/// here from bench/echo-epoll.c), a socket that never answers, and echoes that drop, delay or
/// corrupt datagrams. Loss must be counted, never waited for; no assertion depends on how fast
/// anything is.
/// </summary>
public sealed class BenchUdpTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("epoll", 64)]
    [InlineData("threads", 64)]
    [InlineData("epoll", 3)]
    [InlineData("threads", 9000)]
    public async Task AgainstTheCReferenceEveryDatagramIsEchoedCheckedAndCounted(string engine, int size)
    {
        await using var reference = await EchoReference.StartAsync("--udp", "0");

        var result = await RunAsync(reference.Port, "--engine", engine, "--conns", "4", "--size", size.ToString(CultureInfo.InvariantCulture),
            "--server-pid", reference.Process.Pid.ToString(CultureInfo.InvariantCulture));

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        JsonElement root = report.RootElement;
        Assert.Equal("udp", root.GetProperty("transport").GetString());
        Assert.Equal(engine, root.GetProperty("engine").GetString());
        long datagrams = root.GetProperty("messages").GetInt64();
        long lost = root.GetProperty("lostDatagrams").GetInt64();
        Assert.True(datagrams > 0, result.StdoutText);
        Assert.Equal(0, root.GetProperty("errors").GetInt64());
        Assert.Equal(0, root.GetProperty("corruptBytes").GetInt64());
        Assert.Equal(datagrams * size, root.GetProperty("bytes").GetInt64());
        Assert.Equal(datagrams, root.GetProperty("latencyMicroseconds").GetProperty("count").GetInt64());
        // Loopback may drop under load, but the rate must be what the counts say.
        Assert.Equal((double)lost / (datagrams + lost), root.GetProperty("lossRate").GetDouble(), 5);
        Assert.Equal(0.2, root.GetProperty("lossTimeoutSeconds").GetDouble());
        Assert.True(root.GetProperty("serverCpuSeconds").GetDouble() > 0, result.StdoutText);
    }

    /// <summary>
    /// A peer that takes every datagram and never answers. Each sender must give its datagram up
    /// after the loss timeout and send the next, so the run ends on time (its deadline, 10 s
    /// after the duration, is never reached) with every datagram counted as lost, about one
    /// per timeout per sender.
    /// </summary>
    [Theory]
    [InlineData("epoll")]
    [InlineData("threads")]
    public async Task ASilentPeerEndsOnTimeWithEveryDatagramLost(string engine)
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        var clock = Stopwatch.StartNew();
        var result = await RunAsync(((IPEndPoint)silent.LocalEndPoint!).Port, "--engine", engine, "--conns", "3",
            "--loss-timeout", "0.1", "--duration", "1", "--warmup", "0.2");
        clock.Stop();

        Assert.Equal(1, result.ExitCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"took {clock.Elapsed}, as if loss were waited for");
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        JsonElement root = report.RootElement;
        Assert.Equal(0, root.GetProperty("messages").GetInt64());
        Assert.Equal(1.0, root.GetProperty("lossRate").GetDouble());
        // 3 senders × 1 s / 0.1 s: at most 33, and well over half of that unless a sender waited
        // for more than its timeout.
        Assert.InRange(root.GetProperty("lostDatagrams").GetInt64(), 15, 33);
        Assert.Equal(1, root.GetProperty("errors").GetInt64());
        Assert.StartsWith("no datagram was echoed while measuring", root.GetProperty("firstError").GetString());
        Assert.Contains("no datagram was echoed", result.Stderr);
    }

    /// <summary>
    /// An echo that drops every fifth datagram and answers every seventh only after 300 ms,
    /// past the 100 ms loss timeout: both are counted as lost, the late answers as late echoes
    /// (not as errors or corrupt bytes), and the run is clean.
    /// </summary>
    [Theory]
    [InlineData("epoll")]
    [InlineData("threads")]
    public async Task DroppedAndLateDatagramsAreCountedAsLossNotAsErrors(string engine)
    {
        using var peer = new UdpPeer(dropEvery: 5, delayEvery: 7, flipEvery: 0);

        var result = await RunAsync(peer.Port, "--engine", engine, "--conns", "3", "--loss-timeout", "0.1",
            "--duration", "1.5", "--warmup", "0.2");

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        JsonElement root = report.RootElement;
        Assert.Equal(0, root.GetProperty("errors").GetInt64());
        Assert.Equal(0, root.GetProperty("corruptBytes").GetInt64());
        Assert.True(root.GetProperty("messages").GetInt64() > 0, result.StdoutText);
        Assert.True(root.GetProperty("lostDatagrams").GetInt64() > 0, result.StdoutText);
        Assert.True(root.GetProperty("lateEchoes").GetInt64() > 0, result.StdoutText);
        Assert.InRange(root.GetProperty("lossRate").GetDouble(), 0.05, 0.9);
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("threads")]
    public async Task AFlippedByteInAnEchoedDatagramIsCaught(string engine)
    {
        using var peer = new UdpPeer(dropEvery: 0, delayEvery: 0, flipEvery: 10);

        var result = await RunAsync(peer.Port, "--engine", engine, "--conns", "2", "--duration", "0.5", "--warmup", "0");

        Assert.Equal(1, result.ExitCode);
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        long corrupt = report.RootElement.GetProperty("corruptBytes").GetInt64();
        Assert.True(corrupt >= 1, result.StdoutText);
        Assert.Equal(corrupt, report.RootElement.GetProperty("errors").GetInt64());
        Assert.Contains("differed", result.Stderr);
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("threads")]
    public async Task APortNothingListensOnExitsOneWithOneLine(string engine)
    {
        int port;
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        }

        var result = await RunAsync(port, "--engine", engine);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"ferry-bench: udp to 127.0.0.1 port {port}: connection refused", result.Stderr.Trim());
    }

    [Theory]
    [InlineData("--mode bulk", "ferry: --udp runs pingpong mode only (echo ping-pong with loss counted)")]
    [InlineData("--engine async", "ferry: --udp runs on the epoll and threads engines (or auto), not async")]
    [InlineData("--rate 100", "ferry: --udp runs closed loop only: no --rate")]
    [InlineData("--size 65508", "ferry: --udp: a datagram carries at most 65507 bytes (--size)")]
    [InlineData("--loss-timeout 0", "ferry: --loss-timeout must be 0.001 to 60 seconds")]
    public async Task OptionsUdpCannotRunExitTwoWithOneLine(string options, string firstLine)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["bench", "127.0.0.1", "7", "--udp", .. options.Split(' ')], timeout: Generous);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(firstLine, result.Stderr.Split('\n')[0]);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task ALossTimeoutWithoutUdpExitsTwo()
    {
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["bench", "127.0.0.1", "7", "--loss-timeout", "1"], timeout: Generous);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("ferry: --loss-timeout applies to --udp only", result.Stderr.Split('\n')[0]);
    }

    /// <summary>ferry-bench --udp --json against <paramref name="port"/>: 0.5 s after 0.1 s of warm-up unless the options say otherwise.</summary>
    private static Task<ToolRun.Result> RunAsync(int port, params string[] options)
    {
        string[] timing = [.. options.Contains("--duration") ? [] : new[] { "--duration", "0.5" },
            .. options.Contains("--warmup") ? [] : new[] { "--warmup", "0.1" }];
        return ToolRun.RunAsync(Binaries.FerryBench,
            ["127.0.0.1", port.ToString(CultureInfo.InvariantCulture), "--udp", "--json", .. timing, .. options],
            timeout: Generous);
    }

    /// <summary>
    /// A UDP echo for the test: every datagram back to its sender, except every
    /// <c>dropEvery</c>-th (never answered), every <c>delayEvery</c>-th (answered 300 ms later)
    /// and every <c>flipEvery</c>-th (answered with byte 20 inverted); 0 turns a rule off.
    /// </summary>
    private sealed class UdpPeer : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;

        public UdpPeer(int dropEvery, int delayEvery, int flipEvery)
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _serving = ServeAsync(dropEvery, delayEvery, flipEvery);
        }

        public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

        public void Dispose()
        {
            _stop.Cancel();
            _socket.Dispose();
            try
            {
                _serving.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
            }
            _stop.Dispose();
        }

        private async Task ServeAsync(int dropEvery, int delayEvery, int flipEvery)
        {
            var buffer = new byte[65536];
            EndPoint any = new IPEndPoint(IPAddress.Any, 0);
            long count = 0;
            try
            {
                while (true)
                {
                    SocketReceiveFromResult received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
                    byte[] datagram = buffer.AsSpan(0, received.ReceivedBytes).ToArray();
                    count++;
                    if (dropEvery > 0 && count % dropEvery == 0)
                        continue;
                    if (flipEvery > 0 && count % flipEvery == 0 && datagram.Length > 20)
                        datagram[20] ^= 0xFF;
                    if (delayEvery > 0 && count % delayEvery == 0)
                    {
                        _ = SendLaterAsync(datagram, received.RemoteEndPoint);
                        continue;
                    }
                    await _socket.SendToAsync(datagram, SocketFlags.None, received.RemoteEndPoint, _stop.Token);
                }
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }

        private async Task SendLaterAsync(byte[] datagram, EndPoint to)
        {
            try
            {
                await Task.Delay(300, _stop.Token);
                await _socket.SendToAsync(datagram, SocketFlags.None, to, _stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }
    }
}
