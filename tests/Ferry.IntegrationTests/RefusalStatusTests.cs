using System.Net;
using System.Text.Json;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>"ferryd status" counts refusals per listener, by reason.</summary>
public sealed class RefusalStatusTests
{
    [Fact]
    public async Task StatusShowsRefusedConnectionsPerListener()
    {
        await using var sandbox = new DaemonSandbox();
        var started = await sandbox.StartAsync("--listen", "127.0.0.1:0=echo,maxConnections=1", "--listen", "127.0.0.1:0=discard");
        Assert.Equal(0, started.ExitCode);
        int port = IPEndPoint.Parse(started.StdoutText.Split('\n')[0].Split(' ')[2]).Port;

        using var holder = await Loopback.ConnectAsync(port);
        Assert.True(await SourceBoundSocket.EchoesAsync(holder));
        for (int i = 0; i < 3; i++)
        {
            using var refused = await Loopback.ConnectAsync(port);
            Assert.Equal("", await SourceBoundSocket.ReadUntilClosedAsync(refused));
        }

        var status = await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile);
        // A row per listener, as netstat -nltp lists sockets: label, address, service, pid, then the counts.
        Assert.Matches($@"(?m)^echo-{port}\s+127\.0\.0\.1:{port}\s+echo\s+\d+\s+1\s+1\s+3 \(3 by maxConnections\)$", status.StdoutText);
        Assert.Matches(@"(?m)^discard-\d+\s+\S+\s+discard\s+\d+\s+0\s+0\s+0$", status.StdoutText);

        var json = await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile, "--json");
        var echo = JsonDocument.Parse(json.StdoutText).RootElement.GetProperty("listeners")[0];
        Assert.Equal(3, echo.GetProperty("refused").GetInt64());
        Assert.Equal(3, echo.GetProperty("refusedBy").GetProperty("maxConnections").GetInt64());
        // Lines logged close together reach the file within a tenth of a second, not each at once.
        await ServiceProtocolTests.WaitForAsync(() => sandbox.ReadLog().Contains("refused 127.0.0.1:"),
            () => "no refusal in the log: " + sandbox.ReadLog());
    }
}
