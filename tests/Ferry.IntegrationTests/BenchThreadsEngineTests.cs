using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// ferry-bench's threads engine (blocking sockets, a thread per connection and direction)
/// against a real ferryd echo, and the server CPU it reads with <c>--server-pid</c>. Short
/// runs; no assertion depends on how fast anything is.
/// </summary>
public sealed class BenchThreadsEngineTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("pingpong", 4, 64)]
    [InlineData("pingpong", 2, 100_000)]
    [InlineData("bulk", 2, 65536)]
    [InlineData("bulk", 1, 1000)]
    [InlineData("connect", 3, 64)]
    public async Task EveryEchoedByteIsCountedAndChecked(string mode, int connections, int size)
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();

        JsonElement report = await RunCleanAsync(ferryd, "--mode", mode, "--engine", "threads",
            "--conns", connections.ToString(CultureInfo.InvariantCulture), "--size", size.ToString(CultureInfo.InvariantCulture));

        Assert.Equal("threads", report.GetProperty("engine").GetString());
        long messages = report.GetProperty("messages").GetInt64();
        long bytes = report.GetProperty("bytes").GetInt64();
        Assert.True(messages > 0, report.ToString());
        Assert.Equal(0, report.GetProperty("corruptBytes").GetInt64());
        if (mode == "bulk")
        {
            // Messages are the writes whose echo completed in the window, bytes what arrived in
            // it: a write straddling either end of the window puts them apart, by less than one
            // write per connection.
            Assert.InRange(bytes, (messages - connections) * size + 1, (messages + connections) * size - 1);
        }
        else
        {
            Assert.Equal(messages * size, bytes);
            Assert.Equal(messages, report.GetProperty("latencyMicroseconds").GetProperty("count").GetInt64());
        }
    }

    [Theory]
    [InlineData("pingpong")]
    [InlineData("bulk")]
    public async Task APeerThatFlipsOneByteIsCaught(string mode)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        Task peer = ServeAsync(listener, stop.Token, async (socket, token) =>
        {
            var buffer = new byte[65536];
            long offset = 0;
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, token)) > 0)
            {
                if (offset <= 100 && 100 < offset + n)
                    buffer[100 - offset] ^= 0xFF;
                offset += n;
                await Loopback.SendAllAsync(socket, buffer.AsMemory(0, n));
            }
        });

        var result = await ToolRun.RunAsync(Binaries.FerryBench,
            ["127.0.0.1", Port(listener), "--mode", mode, "--engine", "threads", "--duration", "0.5", "--warmup", "0", "--json"],
            timeout: Generous);
        await stop.CancelAsync();
        await peer;

        Assert.Equal(1, result.ExitCode);
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        Assert.Equal(1, report.RootElement.GetProperty("corruptBytes").GetInt64());
        Assert.Contains("differed", result.Stderr);
    }

    /// <summary>
    /// A server that takes the bytes and never answers: every thread is blocked in recv (or,
    /// in bulk, in send as well). The run's deadline must unblock them, charge each connection
    /// once and end the run, instead of leaving it hanging.
    /// </summary>
    [Theory]
    [InlineData("pingpong", "no echo before the run's deadline")]
    [InlineData("bulk", "echo not finished before the run's deadline")]
    public async Task AServerThatNeverAnswersIsGivenUpAtTheDeadline(string mode, string charge)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        Task peer = ServeAsync(listener, stop.Token, async (socket, token) => await Task.Delay(Timeout.Infinite, token));

        // Deadline: 0.2 s warm-up + 0.3 s measured + 10 s of grace.
        var result = await ToolRun.RunAsync(Binaries.FerryBench,
            ["127.0.0.1", Port(listener), "--mode", mode, "--engine", "threads", "--conns", "2",
             "--duration", "0.3", "--warmup", "0.2", "--json"],
            timeout: Generous);
        await stop.CancelAsync();
        await peer;

        Assert.Equal(1, result.ExitCode);
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        Assert.Equal(2, report.RootElement.GetProperty("errors").GetInt64());
        Assert.Equal(charge, report.RootElement.GetProperty("firstError").GetString());
    }

    [Theory]
    [InlineData("pingpong", "epoll")]
    [InlineData("bulk", "threads")]
    [InlineData("connect", "epoll")]
    public async Task TheServersCpuIsReadOverTheMeasuredWindowAndDividedByItsOperations(string mode, string engine)
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();

        JsonElement report = await RunCleanAsync(ferryd, "--mode", mode, "--engine", engine, "--conns", "2",
            "--server-pid", ferryd.Process.Pid.ToString(CultureInfo.InvariantCulture));

        double cpu = report.GetProperty("serverCpuSeconds").GetDouble();
        long messages = report.GetProperty("messages").GetInt64();
        long bytes = report.GetProperty("bytes").GetInt64();
        // A busy echo server uses some CPU, and no more than all of both cores of this machine.
        Assert.InRange(cpu, 0.001, Environment.ProcessorCount * report.GetProperty("measuredSeconds").GetDouble() + 0.02);
        // The report rounds what it prints; with few bytes (connect) the per-MB figure is large, so
        // the tolerance is relative as well as absolute.
        double perMessage = cpu * 1e6 / messages, perMegabyte = cpu * 1e6 / (bytes / 1e6);
        Assert.Equal(perMessage, report.GetProperty("serverCpuMicrosecondsPerMessage").GetDouble(), Math.Max(0.01, perMessage * 1e-5));
        Assert.Equal(perMegabyte, report.GetProperty("serverCpuMicrosecondsPerMegabyte").GetDouble(), Math.Max(0.1, perMegabyte * 1e-5));
        Assert.True(report.GetProperty("clientCpuSeconds").GetDouble() > 0, report.ToString());
    }

    [Fact]
    public async Task WithoutAServerPidThereIsNoServerCpu()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();

        JsonElement report = await RunCleanAsync(ferryd, "--mode", "pingpong");

        Assert.Equal(JsonValueKind.Null, report.GetProperty("serverCpuSeconds").ValueKind);
        Assert.Equal(JsonValueKind.Null, report.GetProperty("serverCpuMicrosecondsPerMessage").ValueKind);
    }

    /// <summary>Runs ferry-bench for a short while against ferryd's echo; the run must be clean.</summary>
    private static async Task<JsonElement> RunCleanAsync(FerrydProcess ferryd, params string[] options)
    {
        var result = await ToolRun.RunAsync(Binaries.FerryBench,
            ["127.0.0.1", ferryd.Port().ToString(CultureInfo.InvariantCulture), .. options,
             "--duration", "0.5", "--warmup", "0.1", "--json"], timeout: Generous);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        Assert.Equal(0, report.RootElement.GetProperty("errors").GetInt64());
        return report.RootElement.Clone();
    }

    private static string Port(TcpListener listener) =>
        ((IPEndPoint)listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Accepts connections until stopped and serves each with <paramref name="serve"/>.</summary>
    private static async Task ServeAsync(TcpListener listener, CancellationToken cancellationToken, Func<Socket, CancellationToken, Task> serve)
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                Socket socket = await listener.AcceptSocketAsync(cancellationToken);
                connections.Add(Task.Run(async () =>
                {
                    using (socket)
                    {
                        try
                        {
                            await serve(socket, cancellationToken);
                        }
                        catch (Exception e) when (e is OperationCanceledException or SocketException)
                        {
                        }
                    }
                }, CancellationToken.None));
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(connections);
    }
}
