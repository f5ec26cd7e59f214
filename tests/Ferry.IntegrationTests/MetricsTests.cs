using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// --metrics: what ferryd counts is what clients did, exactly; the scrape is valid for promtool and
/// for a real Prometheus server; dotnet-counters reads the same meter; labels never grow with peers.
/// </summary>
public sealed class MetricsTests
{
    private static readonly byte[] Hello = "hello\n"u8.ToArray();

    [Fact]
    public async Task CountersMatchWhatClientsDidAndPromtoolAcceptsTheScrape()
    {
        string promtool = ExternalTool.Require("promtool");
        // A second echo listener holds one connection at most: a client's close reaches the
        // listener's count a moment after the client sees it, so the five sessions go elsewhere.
        await using var ferryd = await FerrydProcess.StartAsync(4, "--listen", "127.0.0.1:0=echo",
            "--listen", "127.0.0.1:0=echo,maxConnections=1", "--listen", "127.0.0.1:0=discard,allow=192.0.2.0/24", "--metrics", "0");
        int echo = ferryd.Listeners[0].EndPoint.Port, limited = ferryd.Listeners[1].EndPoint.Port;
        int discard = ferryd.Port("discard"), metrics = ferryd.Port("metrics");

        for (int i = 0; i < 5; i++)
            await EchoOnceAsync(echo, Hello);
        using (var holder = await Loopback.ConnectAsync(limited))
        {
            Assert.True(await SourceBoundSocket.EchoesAsync(holder, "ping\n"));
            for (int i = 0; i < 3; i++)
            {
                using var refused = await Loopback.ConnectAsync(limited);
                Assert.Equal("", await SourceBoundSocket.ReadUntilClosedAsync(refused));
            }
            holder.Shutdown(SocketShutdown.Send);
            await SourceBoundSocket.ReadUntilClosedAsync(holder);
        }
        for (int i = 0; i < 2; i++)
        {
            using var denied = await Loopback.ConnectAsync(discard);
            await SourceBoundSocket.ReadUntilClosedAsync(denied);
        }

        var listener = ("listener", $"echo-{echo}");
        var held = ("listener", $"echo-{limited}");
        var scrape = await ScrapeWhenAsync(metrics, s => s.Value("ferry_connections_active", listener) == 0
            && s.Value("ferry_connections_active", held) == 0
            && s.Value("ferry_connection_duration_seconds_count", listener, ("close_reason", "peer_closed")) == 5);
        Assert.Equal(5, scrape.Value("ferry_connections_accepted_total", listener, ("service", "echo")));
        Assert.Equal(5 * Hello.Length, scrape.Value("ferry_received_bytes_total", listener));
        Assert.Equal(5 * Hello.Length, scrape.Value("ferry_sent_bytes_total", listener));
        Assert.Equal(0, scrape.Value("ferry_connections_rejected_total", listener, ("reason", "maxConnections")));
        Assert.Equal(1, scrape.Value("ferry_connections_accepted_total", held));
        Assert.Equal(3, scrape.Value("ferry_connections_rejected_total", held, ("reason", "maxConnections")));
        Assert.Equal(0, scrape.Value("ferry_connections_rejected_total", held, ("reason", "notAllowed")));
        Assert.Equal("ping\n".Length, scrape.Value("ferry_received_bytes_total", held));
        Assert.Equal(1, scrape.Value("ferry_connection_duration_seconds_count", held, ("close_reason", "peer_closed")));
        var discarding = ("listener", $"discard-{discard}");
        Assert.Equal(0, scrape.Value("ferry_connections_accepted_total", discarding));
        Assert.Equal(2, scrape.Value("ferry_connections_rejected_total", discarding, ("reason", "notAllowed")));
        // The runtime's and the process's metrics are there too.
        Assert.True(scrape.Value("process_cpu_seconds_total") > 0);
        Assert.Contains(scrape.Samples, s => s.Name == "dotnet_gc_collections_total");
        Assert.Contains(scrape.Samples, s => s.Name == "dotnet_thread_pool_threads");

        var check = await ToolRun.RunAsync(promtool, ["check", "metrics"], Encoding.UTF8.GetBytes(scrape.Text));
        Assert.True(check.ExitCode == 0, $"promtool check metrics: {check.StdoutText}{check.Stderr}");
    }

    [Fact]
    public async Task TenThousandConnectionsFromManySourcePortsAddNoSeries()
    {
        await using var ferryd = await FerrydProcess.StartAsync(2, "--listen", "127.0.0.1:0=echo", "--metrics", "0",
            "--log-level", "warning");
        int echo = ferryd.Port("echo"), metrics = ferryd.Port("metrics");
        await EchoOnceAsync(echo, Hello);
        var before = await ScrapeWhenAsync(metrics, s => s.Value("ferry_connections_active", ("listener", $"echo-{echo}")) == 0);

        const int Connections = 10_000, Workers = 8;
        var ports = new System.Collections.Concurrent.ConcurrentDictionary<int, byte>();
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < Connections / Workers; i++)
            {
                using var socket = await Loopback.ConnectAsync(echo);
                ports.TryAdd(((IPEndPoint)socket.LocalEndPoint!).Port, 0);
                socket.Shutdown(SocketShutdown.Send);
                await SourceBoundSocket.ReadUntilClosedAsync(socket);
            }
        })));
        Assert.True(ports.Count > 1000, $"only {ports.Count} source ports used");

        var after = await ScrapeWhenAsync(metrics, s => s.Value("ferry_connections_active", ("listener", $"echo-{echo}")) == 0);
        Assert.Equal(1 + Connections, after.Value("ferry_connections_accepted_total", ("listener", $"echo-{echo}")));
        Assert.Equal(Series(before), Series(after));
        var address = new Regex(@"\d+\.\d+\.\d+\.\d+|::");
        Assert.DoesNotContain(after.Samples.Where(s => s.Name.StartsWith("ferry_", StringComparison.Ordinal)),
            s => s.Labels.Values.Any(address.IsMatch));

        static string[] Series(Scrape scrape) => [.. scrape.Samples.Where(s => s.Name.StartsWith("ferry_", StringComparison.Ordinal))
            .Select(s => s.Name + "{" + string.Join(",", s.Labels.OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}")) + "}").Order()];
    }

    [Fact]
    public async Task APrometheusServerScrapesFerrydAndAnswersWithTheConnectionsMade()
    {
        string prometheus = ExternalTool.Require("prometheus");
        using var directory = new TempDirectory();
        await using var ferryd = await FerrydProcess.StartAsync(2, "--listen", "127.0.0.1:0=echo", "--metrics", "127.0.0.1:0");
        int echo = ferryd.Port("echo"), metrics = ferryd.Port("metrics");
        for (int i = 0; i < 7; i++)
            await EchoOnceAsync(echo, Hello);

        int web = Loopback.FreePort();
        File.WriteAllText(directory.File("prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: ferryd
                static_configs:
                  - targets: ['127.0.0.1:{metrics}']
            """);
        await using var server = RunningProcess.Start(prometheus, [
            $"--config.file={directory.File("prometheus.yml")}", $"--storage.tsdb.path={directory.File("data")}",
            $"--web.listen-address=127.0.0.1:{web}", "--log.level=warn"]);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string query = Uri.EscapeDataString($"ferry_connections_accepted_total{{job=\"ferryd\",listener=\"echo-{echo}\"}}");
        string? last = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(500, TestContext.Current.CancellationToken);
            try
            {
                last = await http.GetStringAsync($"http://127.0.0.1:{web}/api/v1/query?query={query}", TestContext.Current.CancellationToken);
            }
            catch (HttpRequestException)
            {
                continue;
            }
            var result = JsonDocument.Parse(last).RootElement.GetProperty("data").GetProperty("result");
            if (result.GetArrayLength() == 1 && result[0].GetProperty("value")[1].GetString() == "7")
                return;
        }
        Assert.Fail($"Prometheus never answered 7: {last}; its stderr: {server.StandardError}");
    }

    [Fact]
    public async Task DotnetCountersReadsTheFerryMeterOfTheShippedBuild()
    {
        string counters = ExternalTool.Require("dotnet-counters");
        using var directory = new TempDirectory();
        await using var ferryd = await FerrydProcess.StartEchoAsync();
        int echo = ferryd.Port();
        using var open = await Loopback.ConnectAsync(echo);
        Assert.True(await SourceBoundSocket.EchoesAsync(open));

        string csv = directory.File("counters.csv");
        var run = await ToolRun.RunAsync(counters, ["collect", "-p", ferryd.Process.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--counters", "Ferry", "--format", "csv", "-o", csv, "--duration", "00:00:00:04"], timeout: TimeSpan.FromSeconds(60));
        Assert.True(run.ExitCode == 0, $"dotnet-counters: {run.StdoutText}{run.Stderr}");
        string[] rows = File.ReadAllLines(csv);
        Assert.Contains(rows, row => row.Contains($"ferry.connections.active ({{connection}})[listener=echo-{echo};service=echo]", StringComparison.Ordinal)
            && row.EndsWith(",1", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("abc", 2, "--metrics 'abc'")]
    [InlineData("127.0.0.1:99999", 2, "--metrics '127.0.0.1:99999'")]
    [InlineData("[::1:9100", 2, "--metrics '[::1:9100'")]
    [InlineData("no-such-host.invalid:9100", 4, "unknown host 'no-such-host.invalid'")]
    public async Task BadMetricsValuesFailAtStartWithOneLine(string value, int exitCode, string message)
    {
        await using var sandbox = new DaemonSandbox();
        var run = await sandbox.FerrydAsync("--listen", "127.0.0.1:0=echo", "--metrics", value);
        Assert.Equal(exitCode, run.ExitCode);
        string first = run.Stderr.Split('\n')[0];
        Assert.StartsWith("ferryd: ", first);
        Assert.Contains(message, first);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    [Fact]
    public async Task ABusyMetricsPortFailsTheStartWithExitCode4()
    {
        await using var sandbox = new DaemonSandbox();
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;
        var run = await sandbox.FerrydAsync("--listen", "127.0.0.1:0=echo", "--metrics", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(4, run.ExitCode);
        Assert.Equal($"ferryd: cannot listen on 127.0.0.1:{port} (metrics): address already in use", run.Stderr.Trim());
    }

    [Fact]
    public async Task ABadMetricsEndpointInTheConfigFileIsAConfigError()
    {
        await using var sandbox = new DaemonSandbox();
        sandbox.WriteConfig("""{ "Metrics": { "Endpoint": "9100x" }, "Listeners": { "e": { "Endpoint": "127.0.0.1:0" } } }""");
        var run = await sandbox.FerrydAsync("--config", sandbox.ConfigFile);
        Assert.Equal(6, run.ExitCode);
        Assert.StartsWith("ferryd: config key Metrics:Endpoint = '9100x': ", run.Stderr.Trim());
    }

    [Fact]
    public async Task ServicesReportFanoutUpstreamChildAndSinkNumbers()
    {
        using var directory = new TempDirectory();
        string sinkFile = directory.File("sink.log");
        int dead = Loopback.FreePort();
        await using var ferryd = await FerrydProcess.StartAsync(5, "--listen", "127.0.0.1:0=chat",
            "--listen", $"127.0.0.1:0=forward,to=127.0.0.1:{dead}", "--listen", "127.0.0.1:0=exec,cmd=/bin/echo,args=hi",
            "--listen", $"127.0.0.1:0=sink,path={sinkFile}", "--metrics", "0");
        int metrics = ferryd.Port("metrics");

        using var alice = await LineClient.ConnectAsync(ferryd.Port("chat"));
        using var bob = await LineClient.ConnectAsync(ferryd.Port("chat"));
        using (var client = await Loopback.ConnectAsync(ferryd.Port("forward")))
            await SourceBoundSocket.ReadUntilClosedAsync(client);
        using (var client = await Loopback.ConnectAsync(ferryd.Port("exec")))
            Assert.Equal("hi\n", await SourceBoundSocket.ReadUntilClosedAsync(client));
        using (var client = await Loopback.ConnectAsync(ferryd.Port("sink")))
        {
            await Loopback.SendAllAsync(client, "one\ntwo\nthree\n"u8.ToArray());
            client.Shutdown(SocketShutdown.Send);
            await SourceBoundSocket.ReadUntilClosedAsync(client);
        }

        var chat = ("listener", $"chat-{ferryd.Port("chat")}");
        var forward = ("listener", $"forward-{ferryd.Port("forward")}");
        var exec = ("listener", $"exec-{ferryd.Port("exec")}");
        var file = ("file", sinkFile);
        var scrape = await ScrapeWhenAsync(metrics, s => s.Value("ferry_exec_exits_total", exec, ("result", "success")) == 1
            && s.Value("ferry_sink_lines_total", file) == 3 && s.Value("ferry_fanout_members", chat) == 2
            && s.Value("ferry_fanout_queued_bytes_total", chat) > 0);
        // Each member's arrival was published to the lobby: two join notices at least.
        Assert.True(scrape.Value("ferry_fanout_messages_total", chat) >= 2);
        Assert.Equal(0, scrape.Value("ferry_fanout_slow_consumers_total", chat));
        var upstream = ("upstream", $"127.0.0.1:{dead}");
        Assert.Equal(1, scrape.Value("ferry_forward_connect_failures_total", forward, upstream, ("cause", "refused")));
        Assert.Equal(0, scrape.Value("ferry_forward_connect_failures_total", forward, upstream, ("cause", "timeout")));
        Assert.Equal(0, scrape.Value("ferry_forward_upstream_up", forward, upstream));
        Assert.Equal(0, scrape.Value("ferry_forward_upstream_active", forward, upstream));
        Assert.Equal(0, scrape.Value("ferry_exec_children", exec));
        Assert.Equal("one\ntwo\nthree\n".Length, scrape.Value("ferry_sink_written_bytes_total", file));
        Assert.Equal(0, scrape.Value("ferry_sink_write_errors_total", file));
    }

    private static async Task EchoOnceAsync(int port, byte[] payload)
    {
        using var socket = await Loopback.ConnectAsync(port);
        await Loopback.SendAllAsync(socket, payload);
        Assert.Equal(payload, await Loopback.ReceiveAsync(socket, payload.Length, TimeSpan.FromSeconds(15)));
        socket.Shutdown(SocketShutdown.Send);
        await SourceBoundSocket.ReadUntilClosedAsync(socket);
    }

    /// <summary>Scrapes until <paramref name="ready"/> holds (the closes of connections are counted a moment after the client sees them).</summary>
    private static async Task<Scrape> ScrapeWhenAsync(int port, Func<Scrape, bool> ready)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var scrape = await Scrape.GetAsync(port);
            bool done;
            try
            {
                done = ready(scrape);
            }
            catch (Xunit.Sdk.XunitException) when (DateTime.UtcNow < deadline)
            {
                done = false;
            }
            if (done)
                return scrape;
            Assert.True(DateTime.UtcNow < deadline, $"the scrape never got there:\n{scrape.Text}");
            await Task.Delay(100);
        }
    }
}
