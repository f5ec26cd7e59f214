using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// ferry-bench --unix PATH against real Unix stream servers: socat UNIX-LISTEN fork PIPE and
/// the C reference's --unix listener (bench/echo-epoll.c, built here), every engine; a
/// missing socket and a command line mixing --unix with HOST PORT or --udp.
/// </summary>
public sealed class BenchUnixSocketTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("pingpong", "epoll")]
    [InlineData("pingpong", "threads")]
    [InlineData("pingpong", "async")]
    [InlineData("connect", "epoll")]
    [InlineData("connect", "threads")]
    public async Task AgainstSocatEveryEchoIsCheckedAndCounted(string mode, string engine)
    {
        string socat = ExternalTool.Require("socat");
        using var directory = new TempDirectory();
        string path = directory.File("echo.sock");
        await using var server = RunningProcess.Start(socat, [$"UNIX-LISTEN:{path},fork,backlog=128", "PIPE"]);
        await WaitForListenerAsync(path, server);

        JsonElement report = await RunCleanAsync(path, "--mode", mode, "--engine", engine, "--conns", "3");

        Assert.Equal("unix", report.GetProperty("transport").GetString());
        Assert.Equal(path, report.GetProperty("path").GetString());
        Assert.Equal(JsonValueKind.Null, report.GetProperty("port").ValueKind);
        Assert.Equal(JsonValueKind.Null, report.GetProperty("lostDatagrams").ValueKind);
        Assert.Equal(engine, report.GetProperty("engine").GetString());
        long messages = report.GetProperty("messages").GetInt64();
        Assert.True(messages > 0, report.ToString());
        Assert.Equal(messages * 64, report.GetProperty("bytes").GetInt64());
    }

    /// <summary>Bulk against the C reference (socat's PIPE stalls in bulk over TCP as well): every byte back, through the half-close.</summary>
    [Theory]
    [InlineData("epoll")]
    [InlineData("threads")]
    [InlineData("async")]
    public async Task BulkAgainstTheCReferenceIsClean(string engine)
    {
        using var directory = new TempDirectory();
        string path = directory.File("echo.sock");
        await using var reference = await EchoReference.StartAsync("--unix", path);
        Assert.Equal(path, reference.Listening);

        JsonElement report = await RunCleanAsync(path, "--mode", "bulk", "--engine", engine, "--conns", "2",
            "--server-pid", reference.Process.Pid.ToString(CultureInfo.InvariantCulture));

        Assert.True(report.GetProperty("bytes").GetInt64() > 0, report.ToString());
        Assert.True(report.GetProperty("serverCpuSeconds").GetDouble() > 0, report.ToString());
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("threads")]
    [InlineData("async")]
    public async Task AMissingSocketExitsOneWithOneLine(string engine)
    {
        using var directory = new TempDirectory();
        string path = directory.File("nothing.sock");

        var result = await ToolRun.RunAsync(Binaries.FerryBench, ["--unix", path, "--engine", engine, "--duration", "1"], timeout: Generous);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"ferry-bench: connect to {path}: no such file or directory", result.Stderr.Trim());
    }

    [Theory]
    [InlineData("--unix /tmp/x.sock 127.0.0.1 7", "ferry: --unix PATH takes the place of HOST PORT: give one or the other")]
    [InlineData("--unix /tmp/x.sock --udp", "ferry: --udp and --unix do not go together: --unix is a stream socket")]
    [InlineData("--unix /tmp/x.sock --conns 0", "ferry: --conns must be between 1 and 100000")]
    [InlineData("--unix", "ferry: option '--unix' needs a value")]
    [InlineData("127.0.0.1", "ferry: missing PORT")]
    public async Task AMixedUpCommandLineExitsTwoNamingItsProblem(string arguments, string firstLine)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["bench", .. arguments.Split(' ')], timeout: Generous);

        Assert.Equal(2, result.ExitCode);
        string[] lines = result.Stderr.Split('\n');
        Assert.Equal(firstLine, lines[0]);
        Assert.Contains("--unix PATH", lines[1]);
        Assert.Empty(result.Stdout);
    }

    private static async Task<JsonElement> RunCleanAsync(string path, params string[] options)
    {
        var result = await ToolRun.RunAsync(Binaries.FerryBench,
            ["--unix", path, .. options, "--duration", "0.5", "--warmup", "0.1", "--json"], timeout: Generous);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        using JsonDocument report = JsonDocument.Parse(result.Stdout);
        Assert.Equal(0, report.RootElement.GetProperty("errors").GetInt64());
        Assert.Equal(0, report.RootElement.GetProperty("corruptBytes").GetInt64());
        return report.RootElement.Clone();
    }

    /// <summary>Until a connect to <paramref name="path"/> succeeds (socat binds and listens in two steps).</summary>
    private static async Task WaitForListenerAsync(string path, RunningProcess server)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            Assert.False(server.HasExited, $"the server exited: {server.StandardError}");
            try
            {
                using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await probe.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }
        Assert.Fail($"nothing listens on {path}");
    }
}
