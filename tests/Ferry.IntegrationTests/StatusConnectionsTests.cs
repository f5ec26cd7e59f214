using System.Text.Json;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>"ferryd status --connections": one row per live connection, like Redis's CLIENT LIST.</summary>
public sealed class StatusConnectionsTests
{
    [Fact]
    public async Task ListsAConnectedNcWithItsBytesAChatRoomAndAProgramsPid()
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        await using var sandbox = new DaemonSandbox();
        await using var ferryd = await FerrydProcess.StartAsync(3, "--listen", "127.0.0.1:0=echo", "--listen", "127.0.0.1:0=chat",
            "--listen", "127.0.0.1:0=exec,cmd=/bin/cat", "--pid-file", sandbox.PidFile);
        int echo = ferryd.Port("echo"), chat = ferryd.Port("chat"), exec = ferryd.Port("exec");

        await using var client = RunningProcess.Start(nc, ["127.0.0.1", echo.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await client.StandardInput.WriteAsync("hello\n"u8.ToArray(), TestContext.Current.CancellationToken);
        await client.StandardInput.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("hello", await client.ReadStdoutLineAsync(TimeSpan.FromSeconds(15)));
        using var member = await LineClient.ConnectAsync(chat);
        await member.SendLineAsync("/join dev");
        await member.ExpectAsync(line => line.Contains("#dev", StringComparison.Ordinal), "the join");
        using var program = await Loopback.ConnectAsync(exec);
        Assert.True(await SourceBoundSocket.EchoesAsync(program, "x\n"));

        var json = await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile, "--connections", "--json");
        Assert.Equal(0, json.ExitCode);
        var connections = JsonDocument.Parse(json.StdoutText).RootElement.GetProperty("connections").EnumerateArray().ToList();
        Assert.Equal(3, connections.Count);
        var echoed = connections.Single(c => c.GetProperty("listener").GetString() == $"echo-{echo}");
        Assert.Equal("echo", echoed.GetProperty("service").GetString());
        Assert.Matches(@"^127\.0\.0\.1:\d+$", echoed.GetProperty("peer").GetString()!);
        Assert.Equal(6, echoed.GetProperty("bytesIn").GetInt64());
        Assert.Equal(6, echoed.GetProperty("bytesOut").GetInt64());
        Assert.Equal(0, echoed.GetProperty("queuedBytes").GetInt64());
        // Seconds, not milliseconds: the connection is younger than the test.
        Assert.InRange(echoed.GetProperty("ageSeconds").GetDouble(), 0, 60);
        var chatting = connections.Single(c => c.GetProperty("listener").GetString() == $"chat-{chat}");
        Assert.Equal("dev", chatting.GetProperty("room").GetString());
        var running = connections.Single(c => c.GetProperty("listener").GetString() == $"exec-{exec}");
        int pid = running.GetProperty("pid").GetInt32();
        Assert.Equal("cat", File.ReadAllText($"/proc/{pid}/comm").Trim());

        var table = await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile, "--connections");
        Assert.Equal(0, table.ExitCode);
        string peer = echoed.GetProperty("peer").GetString()!;
        Assert.Matches($@"(?m)^\S+\s+echo-{echo}\s+echo\s+{peer.Replace(".", "\\.", StringComparison.Ordinal)}\s+\S+\s+\S+\s+6\s+6\s+0$", table.StdoutText);
        Assert.Matches($@"(?m)^\S+\s+chat-{chat}\s+chat\s.*room #dev$", table.StdoutText);
        Assert.Matches($@"(?m)^\S+\s+exec-{exec}\s+exec\s.*pid {pid}$", table.StdoutText);
        Assert.Contains("3 connection(s)", table.StdoutText);
    }
}
