using System.Net;
using System.Net.Sockets;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>The ferry client against real servers: ferryd, nc and socat.</summary>
public sealed class ClientTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task TenMebibytesOfRandomBytesComeBackIdentical()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();
        var input = new byte[10 * 1024 * 1024];
        new Random(2026).NextBytes(input);

        var result = await ToolRun.RunAsync(Binaries.Ferry, ["127.0.0.1", ferryd.Port().ToString()], input, Generous);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(input.Length, result.Stdout.Length);
        Assert.True(input.AsSpan().SequenceEqual(result.Stdout), "echoed bytes differ");
    }

    [Fact]
    public async Task HalfClosesOnStdinEofAndPrintsUntilTheServerCloses()
    {
        // socat answers only after it has seen our EOF: it counts what it got and closes.
        string socat = ExternalTool.Require("socat");
        int port = Loopback.FreePort();
        await using var server = RunningProcess.Start(socat,
            [$"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr", "SYSTEM:wc -c"]);
        await ListeningPorts.WaitAsync(port);

        var result = await ToolRun.RunAsync(Binaries.Ferry, ["127.0.0.1", port.ToString()], new byte[123_456], Generous);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("123456", result.StdoutText.Trim());
    }

    [Fact]
    public async Task InteractiveLinesComeBackBeforeStdinEnds()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["127.0.0.1", ferryd.Port().ToString()]);
        for (int i = 0; i < 5; i++)
        {
            byte[] line = Encoding.ASCII.GetBytes($"typed line {i}\n");
            await ferry.StandardInput.WriteAsync(line, TestContext.Current.CancellationToken);
            await ferry.StandardInput.FlushAsync(TestContext.Current.CancellationToken);
            Assert.Equal($"typed line {i}", await ferry.ReadStdoutLineAsync(TimeSpan.FromSeconds(10)));
        }
        ferry.StandardInput.Close();
        Assert.Equal(0, await ferry.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task ExitsZeroAsSoonAsTheServerClosesThoughStdinStaysOpen()
    {
        // Where ferry does better than OpenBSD nc, which keeps waiting for its stdin after the
        // server has closed. daytime sends one line and closes; ferry's stdin is never closed,
        // so ferry must end on the server's FIN alone (the bound is generous, not a speed test).
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=daytime");
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["127.0.0.1", ferryd.Port("daytime").ToString()]);
        string line = await ferry.ReadStdoutLineAsync(TimeSpan.FromSeconds(10));
        Assert.Matches(@"^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2}\r?$", line);
        Assert.Equal(0, await ferry.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task RefusedConnectionExitsOneWithOneLine()
    {
        int port = Loopback.FreePort();
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["127.0.0.1", port.ToString()]);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"ferry: connect to 127.0.0.1 port {port}: connection refused", result.Stderr.Trim());
    }

    [Fact]
    public async Task UnknownHostExitsOneWithOneLine()
    {
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["no-such-host.invalid", "7"]);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("ferry: no-such-host.invalid: unknown host", result.Stderr.Trim());
    }

    [Fact]
    public async Task ConnectTimeoutExitsOneWithOneLine()
    {
        // A listener that never accepts, with its tiny backlog filled, leaves SYNs unanswered.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        try
        {
            for (int i = 0; i < 8; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                try
                {
                    await filler.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            var result = await ToolRun.RunAsync(Binaries.Ferry, ["--timeout", "0.5", "127.0.0.1", port.ToString()]);
            Assert.Equal(1, result.ExitCode);
            Assert.Equal($"ferry: connect to 127.0.0.1 port {port}: timed out after 0.5 s", result.Stderr.Trim());
        }
        finally
        {
            foreach (var filler in fillers)
                filler.Dispose();
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1 port")]
    [InlineData("127.0.0.1 70000")]
    [InlineData("127.0.0.1 7 --nonsense")]
    public async Task BadArgumentsExitTwoWithTheUsageLine(string commandLine)
    {
        string[] args = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var result = await ToolRun.RunAsync(Binaries.Ferry, args);
        Assert.Equal(2, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ferry: ", lines[0]);
        Assert.Contains("Usage: ferry [-u] HOST PORT", lines);
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("listen --help")]
    public async Task HelpExitsZero(string commandLine)
    {
        string[] args = commandLine.Split(' ');
        var result = await ToolRun.RunAsync(Binaries.Ferry, args);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage", result.StdoutText, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ListenPrintsWhatThePeerSendsAndSendsWhatTheOperatorTypes()
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["listen", "127.0.0.1:0"]);
        string listening = await ferry.ReadStderrLineAsync(TimeSpan.FromSeconds(15));
        Assert.StartsWith("listening 127.0.0.1:", listening);
        int port = IPEndPoint.Parse(listening["listening ".Length..]).Port;

        await using var peer = RunningProcess.Start(nc, ["127.0.0.1", port.ToString()]);
        await peer.StandardInput.WriteAsync("hello operator\n"u8.ToArray(), TestContext.Current.CancellationToken);
        await peer.StandardInput.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("hello operator", await ferry.ReadStdoutLineAsync(TimeSpan.FromSeconds(10)));

        await ferry.StandardInput.WriteAsync("hello client\n"u8.ToArray(), TestContext.Current.CancellationToken);
        await ferry.StandardInput.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("hello client", await peer.ReadStdoutLineAsync(TimeSpan.FromSeconds(10)));

        peer.StandardInput.Close(); // nc without -N: closes when the operator... so end it by PID
        peer.Signal(Signals.SigTerm);
        Assert.Equal(0, await ferry.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task ListenKeepOpenServesOnePeerAfterAnother()
    {
        string socat = ExternalTool.Require("socat");
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["listen", "--keep-open", "127.0.0.1:0"]);
        string listening = await ferry.ReadStderrLineAsync(TimeSpan.FromSeconds(15));
        int port = IPEndPoint.Parse(listening["listening ".Length..]).Port;

        for (int i = 0; i < 3; i++)
        {
            var result = await ToolRun.RunAsync(socat, ["-", $"TCP:127.0.0.1:{port}"],
                Encoding.ASCII.GetBytes($"peer {i}\n"), TimeSpan.FromSeconds(30));
            Assert.Equal(0, result.ExitCode);
            Assert.Equal($"peer {i}", await ferry.ReadStdoutLineAsync(TimeSpan.FromSeconds(10)));
        }
        Assert.False(ferry.HasExited);
    }
}
