using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary><c>ferry -u</c> and <c>ferry listen -u</c> against real UDP peers: socat, nc, and plain sockets.</summary>
public sealed class ClientUdpTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Line = TimeSpan.FromSeconds(15);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>
    /// socat answering each datagram from its own child with <paramref name="program"/>'s output
    /// for it (one datagram in, its answer out). -b 65536: socat's default 8 KiB buffer would cut
    /// larger datagrams.
    /// </summary>
    private static async Task<(RunningProcess Peer, int Port)> StartSocatPeerAsync(string program)
    {
        string socat = ExternalTool.Require("socat");
        int port = UdpPorts.Free();
        var peer = RunningProcess.Start(socat, ["-b", "65536", $"UDP4-RECVFROM:{port},bind=127.0.0.1,fork", program]);
        await UdpPorts.WaitBoundAsync(port);
        return (peer, port);
    }

    private static async Task WriteAsync(RunningProcess process, string text) => await WriteAsync(process, Encoding.UTF8.GetBytes(text));

    private static async Task WriteAsync(RunningProcess process, byte[] bytes)
    {
        await process.StandardInput.WriteAsync(bytes, Token);
        await process.StandardInput.FlushAsync(Token);
    }

    private static async Task<int> ListeningPortAsync(RunningProcess ferry)
    {
        string listening = await ferry.ReadStderrLineAsync(Line);
        Assert.StartsWith("listening 127.0.0.1:", listening);
        return IPEndPoint.Parse(listening["listening ".Length..]).Port;
    }

    [Fact]
    public async Task LinesComeBackFromAnEchoingPeerAndStdinEofEndsIt()
    {
        var (peer, port) = await StartSocatPeerAsync("EXEC:cat");
        await using var _ = peer;
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["-u", "127.0.0.1", port.ToString()]);
        for (int i = 0; i < 3; i++)
        {
            await WriteAsync(ferry, $"datagram {i}\n");
            Assert.Equal($"datagram {i}", await ferry.ReadStdoutLineAsync(Line));
        }
        // No FIN in UDP: after stdin ends, ferry waits for late replies for 1 s (not the 10 s
        // connect timeout), then exits 0.
        ferry.StandardInput.Close();
        Assert.Equal(0, await ferry.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(string.Empty, ferry.StandardError);
    }

    [Fact]
    public async Task EachLineOfTextIsOneDatagramAndALineTooLongIsCutIntoTheLargest()
    {
        // The peer answers each datagram with its size. Its children answer in any order: compare sorted.
        var (peer, port) = await StartSocatPeerAsync("SYSTEM:wc -c");
        await using var _ = peer;
        string input = "a\nbb\n" + new string('x', 70_000) + "\nccc";

        var result = await ToolRun.RunAsync(Binaries.Ferry, ["-u", "127.0.0.1", port.ToString()], Encoding.ASCII.GetBytes(input), Generous);

        Assert.True(result.ExitCode == 0, result.Stderr);
        int[] sizes = result.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).Order().ToArray();
        // 70,001 bytes of line: the largest UDP payload over IPv4, then the rest with the newline.
        Assert.Equal([2, 3, 3, 70_001 - 65_507, 65_507], sizes);
    }

    [Fact]
    public async Task EachReadOfBinaryStdinIsOneDatagram()
    {
        var (peer, port) = await StartSocatPeerAsync("SYSTEM:wc -c");
        await using var _ = peer;
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["-u", "127.0.0.1", port.ToString()]);
        var random = new Random(4242);
        // Newlines inside are data, not boundaries: the NUL in front makes the input binary.
        foreach (int size in new[] { 1, 1000, 30_000, 65_507, 7 })
        {
            byte[] chunk = new byte[size];
            random.NextBytes(chunk);
            chunk[0] = 0;
            if (size > 10)
                chunk.AsSpan(5, 3).Fill((byte)'\n');
            // One write, answered before the next: one read of the pipe.
            await WriteAsync(ferry, chunk);
            Assert.Equal(size.ToString(), (await ferry.ReadStdoutLineAsync(Line)).Trim());
        }
    }

    [Fact]
    public async Task DatagramsReceivedKeepTheirBoundaries()
    {
        // A peer that answers one datagram with three of different sizes: ferry writes each as
        // it arrives, whole, so the output is exactly their concatenation, in order.
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)server.LocalEndPoint!).Port;
        byte[][] answers = [new byte[40_000], new byte[1], new byte[65_000]];
        for (int i = 0; i < answers.Length; i++)
            new Random(i).NextBytes(answers[i]);

        Task<ToolRun.Result> ferry = ToolRun.RunAsync(Binaries.Ferry, ["-u", "127.0.0.1", port.ToString()], "go\n"u8.ToArray(), Generous);
        var buffer = new byte[100];
        var question = await server.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), Token);
        Assert.Equal("go\n", Encoding.ASCII.GetString(buffer, 0, question.ReceivedBytes));
        foreach (byte[] answer in answers)
            await server.SendToAsync(answer, SocketFlags.None, question.RemoteEndPoint, Token);

        var result = await ferry;
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(answers.SelectMany(answer => answer).ToArray(), result.Stdout);
    }

    [Fact]
    public async Task AClosedPortIsRefusedInTcpsWords()
    {
        int port = UdpPorts.Free();
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["-u", "127.0.0.1", port.ToString()], "anyone there?\n"u8.ToArray(), Generous);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"ferry: connect to 127.0.0.1 port {port}: connection refused", result.Stderr.Trim());
    }

    [Fact]
    public async Task TimeoutEndsAQuietExchangeThoughStdinStaysOpen()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)silent.LocalEndPoint!).Port;
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["-u", "-w", "0.5", "127.0.0.1", port.ToString()]);
        await WriteAsync(ferry, "hello?\n");
        var buffer = new byte[100];
        using var receiveDeadline = CancellationTokenSource.CreateLinkedTokenSource(Token);
        receiveDeadline.CancelAfter(Line);
        int received = await silent.ReceiveAsync(buffer, SocketFlags.None, receiveDeadline.Token);
        var quiet = Stopwatch.StartNew();
        Assert.Equal("hello?\n", Encoding.ASCII.GetString(buffer, 0, received));

        // stdin is never closed: only the timeout can end ferry, and not before it has passed.
        Assert.Equal(0, await ferry.WaitForExitAsync(Line));
        Assert.True(quiet.Elapsed >= TimeSpan.FromSeconds(0.3), $"ended {quiet.ElapsedMilliseconds} ms after its datagram");
    }

    [Fact]
    public async Task ALateReplyAfterStdinEndsIsStillPrinted()
    {
        // The default wait after stdin ends (1 s) covers a reply that takes 400 ms.
        using var slow = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        slow.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)slow.LocalEndPoint!).Port;
        Task<ToolRun.Result> ferry = ToolRun.RunAsync(Binaries.Ferry, ["-u", "127.0.0.1", port.ToString()], "question\n"u8.ToArray(), Generous);
        var buffer = new byte[100];
        var question = await slow.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), Token);
        await Task.Delay(400, Token);
        await slow.SendToAsync("late answer\n"u8.ToArray(), SocketFlags.None, question.RemoteEndPoint, Token);

        var result = await ferry;
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("late answer\n", result.StdoutText);
    }

    [Theory]
    [InlineData("-u --tls 127.0.0.1 7", "--tls does not work with -u", "Usage: ferry [-u] HOST PORT")]
    [InlineData("listen -u --tls --cert /tmp/x.pem 127.0.0.1:0", "--tls does not work with -u", "Usage: ferry listen [-u] [ADDR:]PORT")]
    [InlineData("-u 127.0.0.1", "missing PORT", "Usage: ferry [-u] HOST PORT")]
    [InlineData("-u 127.0.0.1 0", "invalid port '0'", "Usage: ferry [-u] HOST PORT")]
    public Task MisusedUdpOptionsAreUsageErrors(string commandLine, string problem, string usage) =>
        ClientUsage.AssertRefusedAsync(commandLine, problem, usage);

    [Fact]
    public async Task ListenAnswersTheFirstPeerOnlyAndReportsItGone()
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        string socat = ExternalTool.Require("socat");
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["listen", "-u", "127.0.0.1:0"]);
        int port = await ListeningPortAsync(ferry);

        var peer = RunningProcess.Start(nc, ["-u", "127.0.0.1", port.ToString()]);
        await using (peer)
        {
            await WriteAsync(peer, "hello from nc\n");
            Assert.Equal("hello from nc", await ferry.ReadStdoutLineAsync(Line));
            Assert.StartsWith("connection from 127.0.0.1:", await ferry.ReadStderrLineAsync(Line));

            await WriteAsync(ferry, "hello nc\n");
            Assert.Equal("hello nc", await peer.ReadStdoutLineAsync(Line));

            // Another sender is not heard (the kernel answers it with ICMP port unreachable, so
            // socat may fail): what ferry prints next is nc's.
            await ToolRun.RunAsync(socat, ["-", $"UDP4:127.0.0.1:{port}"], "intruder\n"u8.ToArray(), Generous);
            await WriteAsync(peer, "nc again\n");
            Assert.Equal("nc again", await ferry.ReadStdoutLineAsync(Line));
        }

        // nc has gone: the next datagram to it comes back as ICMP port unreachable.
        await WriteAsync(ferry, "still there?\n");
        Assert.Equal(1, await ferry.WaitForExitAsync(Line));
        Assert.Matches(@"^ferry: connection from 127\.0\.0\.1:\d+: connection refused$", ferry.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
    }

    [Fact]
    public async Task ListenKeepOpenHearsEveryPeerAndAnswersTheOneThatSentLast()
    {
        string socat = ExternalTool.Require("socat");
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["listen", "-u", "--keep-open", "127.0.0.1:0"]);
        int port = await ListeningPortAsync(ferry);
        await using var a = RunningProcess.Start(socat, ["-", $"UDP4:127.0.0.1:{port}"]);
        await using var b = RunningProcess.Start(socat, ["-", $"UDP4:127.0.0.1:{port}"]);

        await WriteAsync(a, "from a\n");
        Assert.Equal("from a", await ferry.ReadStdoutLineAsync(Line));
        string fromA = await ferry.ReadStderrLineAsync(Line);
        await WriteAsync(b, "from b\n");
        Assert.Equal("from b", await ferry.ReadStdoutLineAsync(Line));
        string fromB = await ferry.ReadStderrLineAsync(Line);
        Assert.StartsWith("connection from 127.0.0.1:", fromA);
        Assert.StartsWith("connection from 127.0.0.1:", fromB);
        Assert.NotEqual(fromA, fromB);

        await WriteAsync(ferry, "one\n");
        Assert.Equal("one", await b.ReadStdoutLineAsync(Line));

        await WriteAsync(a, "a again\n");
        Assert.Equal("a again", await ferry.ReadStdoutLineAsync(Line));
        Assert.Equal(fromA, await ferry.ReadStderrLineAsync(Line));
        await WriteAsync(ferry, "two\n");
        // a's first datagram from ferry: "one" went to b alone.
        Assert.Equal("two", await a.ReadStdoutLineAsync(Line));
        Assert.False(ferry.HasExited);
    }
}
