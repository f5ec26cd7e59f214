using System.Net;
using System.Net.Sockets;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// `ferryd reload` changes a listener in place: on the same endpoint the socket is kept and the
/// new settings and service take the new connections while open ones finish as they were; a
/// changed endpoint is closed, then bound, and rolled back when that fails.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ReloadTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private static async Task<DaemonSandbox> StartAsync(string json)
    {
        var sandbox = new DaemonSandbox();
        sandbox.WriteConfig(json);
        var started = await sandbox.StartAsync("--config", sandbox.ConfigFile);
        Assert.True(started.ExitCode == 0, started.Stderr);
        return sandbox;
    }

    private static async Task ReloadAsync(DaemonSandbox sandbox, string json)
    {
        sandbox.WriteConfig(json);
        var reload = await sandbox.FerrydAsync("reload", "--pid-file", sandbox.PidFile);
        Assert.True(reload.ExitCode == 0, $"reload: {reload.Stderr}");
    }

    private static string Listener(string endpoint, string service, string extra = "") =>
        $$"""{ "Listeners": { "main": { "Endpoint": "{{endpoint}}", "Service": "{{service}}"{{extra}} } } }""";

    private static async Task EchoesAsync(Socket client, string text)
    {
        Assert.True(await SourceBoundSocket.EchoesAsync(client, text), $"no echo of '{text}'");
    }

    [Fact]
    public async Task ADenyAddedToALiveListenerRefusesNewPeersAndLeavesOpenOnesBe()
    {
        int port = Loopback.FreePort();
        await using var sandbox = await StartAsync(Listener($"127.0.0.1:{port}", "echo"));
        using var before = await SourceBoundSocket.ConnectAsync(SourceBoundSocket.Second, port);
        await EchoesAsync(before, "before");

        await ReloadAsync(sandbox, Listener($"127.0.0.1:{port}", "echo", ", \"Deny\": \"127.0.0.2\""));

        await EchoesAsync(before, "still served, as it was");
        using var denied = await SourceBoundSocket.ConnectAsync(SourceBoundSocket.Second, port);
        Assert.Equal("", await SourceBoundSocket.ReadUntilClosedAsync(denied));
        using var allowed = await Loopback.ConnectAsync(port);
        await EchoesAsync(allowed, "others welcome");
    }

    [Fact]
    public async Task AUnixListenerKeepsItsSocketThroughAReloadAndItsFileGoesWithIt()
    {
        await using var sandbox = new DaemonSandbox();
        string path = Path.Combine(sandbox.Directory, "echo.sock");
        sandbox.WriteConfig(Listener($"unix:{path}", "echo", ", \"Mode\": \"0600\""));
        var started = await sandbox.StartAsync("--config", sandbox.ConfigFile);
        Assert.True(started.ExitCode == 0, started.Stderr);
        using var held = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await held.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken);
        await EchoesAsync(held, "before");

        // Options changed, same path: the new listener takes the socket over, with its mode.
        await ReloadAsync(sandbox, Listener($"unix:{path}", "echo", ", \"Mode\": \"0640\""));
        Assert.Equal((UnixFileMode)0b110_100_000, File.GetUnixFileMode(path));
        await EchoesAsync(held, "still served");
        using (var fresh = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            await fresh.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken);
            await EchoesAsync(fresh, "after");
        }

        // The listener gone: its file too.
        await ReloadAsync(sandbox, Listener($"127.0.0.1:{Loopback.FreePort()}", "echo"));
        Assert.False(File.Exists(path), "the socket file outlived its listener");
    }

    [Fact]
    public async Task AListenerReplacedByAReloadContinuesItsCountsInMetricsAndStatus()
    {
        int port = Loopback.FreePort(), metrics = Loopback.FreePort();
        string Config(string extra) =>
            $$"""{ "Metrics": { "Endpoint": "127.0.0.1:{{metrics}}" }, "Listeners": { "main": { "Endpoint": "127.0.0.1:{{port}}", "Service": "echo"{{extra}} } } }""";
        await using var sandbox = await StartAsync(Config(""));
        using var before = await Loopback.ConnectAsync(port);
        await EchoesAsync(before, "12345");
        for (int i = 0; i < 2; i++)
        {
            using var client = await Loopback.ConnectAsync(port);
            await EchoesAsync(client, "abc");
        }

        await ReloadAsync(sandbox, Config(", \"MaxConnections\": 50"));
        for (int i = 0; i < 2; i++)
        {
            using var client = await Loopback.ConnectAsync(port);
            await EchoesAsync(client, "defg");
        }
        // The old listener still serves its open connection; counts are the listener's, not its socket's.
        var main = ("listener", "main");
        var during = await Scrape.GetAsync(metrics);
        Assert.Equal(5, during.Value("ferry_connections_accepted_total", main));
        await EchoesAsync(before, "678");

        before.Shutdown(SocketShutdown.Send);
        await SourceBoundSocket.ReadUntilClosedAsync(before);
        var deadline = DateTime.UtcNow + Generous;
        Scrape after;
        while ((after = await Scrape.GetAsync(metrics)).Value("ferry_connections_active", main) != 0 && DateTime.UtcNow < deadline)
            await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.Equal(0, after.Value("ferry_connections_active", main));
        Assert.Equal(5, after.Value("ferry_connections_accepted_total", main));
        Assert.Equal(5 + 2 * 3 + 2 * 4 + 3, after.Value("ferry_received_bytes_total", main));
        var status = await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile);
        Assert.Matches($@"(?m)^main\s+127\.0\.0\.1:{port}\s+echo\s+\d+\s+0\s+5\s+0$", status.StdoutText);
    }

    [Fact]
    public async Task ForwardTakesANewUpstreamListWithoutDroppingOpenPairs()
    {
        await using var upstreams = await FerrydProcess.StartAsync(2, "--listen", "127.0.0.1:0=echo", "--listen", "127.0.0.1:0=daytime");
        int port = Loopback.FreePort();
        string Forward(string to) => Listener($"127.0.0.1:{port}", "forward", $$""", "Options": { "To": ["{{to}}"] }""");
        await using var sandbox = await StartAsync(Forward($"127.0.0.1:{upstreams.Port("echo")}"));
        using var open = await Loopback.ConnectAsync(port);
        await EchoesAsync(open, "through the first upstream");

        await ReloadAsync(sandbox, Forward($"127.0.0.1:{upstreams.Port("daytime")}"));

        await EchoesAsync(open, "still through the first upstream");
        using var fresh = await Loopback.ConnectAsync(port);
        string day = System.Text.Encoding.ASCII.GetString(await Loopback.ReceiveToEndAsync(fresh, Generous));
        Assert.Matches(@"^\w{3}, \d{2} \w{3} \d{4} ", day);
    }

    [Fact]
    public async Task ChatBecomesBrokerOnTheSamePortWhileTheChatMemberStays()
    {
        int port = Loopback.FreePort();
        await using var sandbox = await StartAsync(Listener($"127.0.0.1:{port}", "chat"));
        using var member = await LineClient.ConnectAsync(port);
        await member.ExpectAsync(l => l.StartsWith("* you are", StringComparison.Ordinal), "the chat welcome");

        await ReloadAsync(sandbox, Listener($"127.0.0.1:{port}", "broker"));

        await member.SendLineAsync("/who");
        await member.ExpectAsync(l => l.StartsWith("* #lobby:", StringComparison.Ordinal), "chat still answering its member");
        using var first = await Loopback.ConnectAsync(port);
        using var second = await Loopback.ConnectAsync(port);
        await BrokerTests.SayUntilHeardAsync(first, second, (byte)'b');
    }

    [Fact]
    public async Task AnAddressBecomingAHostNameKeepsItsSocketAndGainsTheOthers()
    {
        int port = Loopback.FreePort();
        await using var sandbox = await StartAsync(Listener($"127.0.0.1:{port}", "echo"));
        using var before = await Loopback.ConnectAsync(port);
        await EchoesAsync(before, "before");

        await ReloadAsync(sandbox, Listener($"localhost:{port}", "echo"));

        await EchoesAsync(before, "after");
        using var v4 = await Loopback.ConnectAsync(port);
        await EchoesAsync(v4, "v4");
        // Every address localhost has here is served (::1 too, where the hosts file names it).
        if ((await Dns.GetHostAddressesAsync("localhost", TestContext.Current.CancellationToken)).Contains(IPAddress.IPv6Loopback))
        {
            using var v6 = await Loopback.ConnectAsync(port, IPAddress.IPv6Loopback);
            await EchoesAsync(v6, "v6");
        }
    }

    [Fact]
    public async Task AnAddressWideningToEveryInterfaceIsClosedThenBound()
    {
        int port = Loopback.FreePort();
        await using var sandbox = await StartAsync(Listener($"127.0.0.1:{port}", "echo"));

        await ReloadAsync(sandbox, Listener($"0.0.0.0:{port}", "echo"));

        using var client = await Loopback.ConnectAsync(port, IPAddress.Parse("127.0.0.3"));
        await EchoesAsync(client, "on every interface");
    }

    [Fact]
    public async Task AnEndpointThatCannotBeBoundIsRolledBackAndTheOldListenerServesOn()
    {
        int port = Loopback.FreePort();
        await using var sandbox = await StartAsync(Listener($"127.0.0.1:{port}", "echo"));
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        int busy = ((IPEndPoint)occupant.LocalEndpoint).Port;

        sandbox.WriteConfig(Listener($"127.0.0.1:{busy}", "echo"));
        var reload = await sandbox.FerrydAsync("reload", "--pid-file", sandbox.PidFile);
        Assert.Equal(1, reload.ExitCode);
        Assert.Contains("address already in use", reload.Stderr);

        using var client = await Loopback.ConnectAsync(port);
        await EchoesAsync(client, "rolled back");
    }

    [Fact]
    public async Task ExecChecksItsProgramAgainOnReloadAndTakesNewArguments()
    {
        int port = Loopback.FreePort();
        string Exec(string cmd, string args) =>
            Listener($"127.0.0.1:{port}", "exec", $$""", "Options": { "Cmd": "{{cmd}}", "Args": [{{args}}] }""");
        await using var sandbox = await StartAsync(Exec("/bin/echo", "\"first\", \"words\""));
        async Task<string> AnswerAsync()
        {
            using var client = await Loopback.ConnectAsync(port);
            client.Shutdown(SocketShutdown.Send);
            return System.Text.Encoding.ASCII.GetString(await Loopback.ReceiveToEndAsync(client, Generous));
        }
        Assert.Equal("first words\n", await AnswerAsync());

        sandbox.WriteConfig(Exec("/no/such/program", ""));
        var refused = await sandbox.FerrydAsync("reload", "--pid-file", sandbox.PidFile);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("cmd=/no/such/program: no such file", refused.Stderr);
        Assert.Equal("first words\n", await AnswerAsync());

        await ReloadAsync(sandbox, Exec("/bin/echo", "\"second\""));
        Assert.Equal("second\n", await AnswerAsync());
    }
}
