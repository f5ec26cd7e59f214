using System.Net;
using System.Net.Sockets;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>ferryd's forward service between real clients (nc, socat, ferry, redis-cli) and real upstreams.</summary>
public sealed class ForwardTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    /// <summary>A ferryd with an echo listener and a forward to it.</summary>
    private static Task<FerrydProcess> StartForwardToEchoAsync(string options = "") =>
        StartForwardAsync(echo: true, to: null, options);

    /// <summary>ferryd with a forward listener (to <paramref name="to"/>, or to its own echo listener when null).</summary>
    private static async Task<FerrydProcess> StartForwardAsync(bool echo, string? to, string options = "", params string[] extra)
    {
        if (!echo)
            return await FerrydProcess.StartAsync(1, ["--listen", $"127.0.0.1:0=forward,to={to}{options}", .. extra]);
        int echoPort = Loopback.FreePort();
        return await FerrydProcess.StartAsync(2, ["--listen", $"127.0.0.1:{echoPort}=echo",
            "--listen", $"127.0.0.1:0=forward,to={to ?? $"127.0.0.1:{echoPort}"}{options}", .. extra]);
    }

    /// <summary>A listening socket the test plays the upstream with (accepts, reads or not, resets).</summary>
    private static Socket RawUpstream(int receiveBuffer = 0)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (receiveBuffer > 0)
            upstream.ReceiveBufferSize = receiveBuffer;
        upstream.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        upstream.Listen();
        return upstream;
    }

    /// <summary>Reads <paramref name="socket"/> until it fails, which must be with a reset.</summary>
    private static async Task AssertResetAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        using var deadline = new CancellationTokenSource(Generous);
        var thrown = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token) > 0)
            {
            }
        });
        Assert.Equal(SocketError.ConnectionReset, thrown.SocketErrorCode);
    }

    private static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Theory]
    [InlineData("")]
    [InlineData(",splice=on")]
    public async Task NetcatSocatAndFerryCarryTenMebibytesBothWaysUnchanged(string options)
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        string socat = ExternalTool.Require("socat");
        await using var ferryd = await StartForwardToEchoAsync(options);
        string port = ferryd.Port("forward").ToString();
        byte[] payload = RandomBytes(10 * 1024 * 1024, 13);
        int pipesBefore = OpenPipes(ferryd.Process.Pid);

        var clients = new (string File, string[] Args)[]
        {
            (nc, ["-N", "127.0.0.1", port]),
            // -t: socat waits this long for the echo after its stdin ended (0.5 s by default).
            (socat, ["-t", "30", "-", $"TCP:127.0.0.1:{port}"]),
            (Binaries.Ferry, ["127.0.0.1", port]),
        };
        await ToolRun.AssertEachEchoesAsync(clients, payload, Generous);
        await ServiceProtocolTests.WaitForAsync(
            () => ferryd.Process.StandardError.Split('\n').Count(l => l.Contains("on forward") && l.Contains($"in {payload.Length} B, out {payload.Length} B")) == 3,
            () => $"expected three forward close lines with every byte counted: {ferryd.Process.StandardError}");
        Assert.Contains("client closed first", ferryd.Process.StandardError);
        // A splicing direction's pipe goes with it.
        Assert.Equal(pipesBefore, OpenPipes(ferryd.Process.Pid));
    }

    private static int OpenPipes(int pid) =>
        new DirectoryInfo($"/proc/{pid}/fd").EnumerateFileSystemInfos().Count(fd => fd.LinkTarget?.StartsWith("pipe:") == true);

    [Fact]
    public async Task RedisClientsWorkThroughForward()
    {
        string redisServer = ExternalTool.Require("redis-server");
        string redisCli = ExternalTool.Require("redis-cli");
        string redisBenchmark = ExternalTool.Require("redis-benchmark");
        int redisPort = Loopback.FreePort();
        using var dir = new TempDirectory();
        await using var redis = RunningProcess.Start(redisServer, ["--port", redisPort.ToString(), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", dir.Path]);
        await ListeningPorts.WaitAsync(redisPort);
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{redisPort}");
        string port = ferryd.Port("forward").ToString();

        async Task<string> Cli(params string[] command)
        {
            var result = await ToolRun.RunAsync(redisCli, ["-h", "127.0.0.1", "-p", port, .. command], timeout: Generous);
            Assert.True(result.ExitCode == 0, $"redis-cli {string.Join(' ', command)}: {result.Stderr}");
            return result.StdoutText.Trim();
        }

        Assert.Equal("PONG", await Cli("PING"));
        Assert.Equal("OK", await Cli("SET", "ferry:key", "through forward"));
        Assert.Equal("through forward", await Cli("GET", "ferry:key"));

        var bench = await ToolRun.RunAsync(redisBenchmark, ["-h", "127.0.0.1", "-p", port, "-q", "-n", "20000", "-t", "set,get"],
            timeout: TimeSpan.FromSeconds(120));
        Assert.True(bench.ExitCode == 0, $"redis-benchmark exited {bench.ExitCode}: {bench.Stderr}");
        Assert.Contains("SET:", bench.StdoutText);
        Assert.Contains("GET:", bench.StdoutText);
        Assert.DoesNotContain("rror", bench.StdoutText + bench.Stderr);
    }

    [Fact]
    public async Task ClientThatHalfClosesAfterItsRequestGetsTheWholeReply()
    {
        string python = ExternalTool.Require("python3");
        using var dir = new TempDirectory();
        string page = string.Concat(Enumerable.Range(0, 20_000).Select(i => $"row {i}\n"));
        await File.WriteAllTextAsync(dir.File("page.txt"), page, TestContext.Current.CancellationToken);
        int httpPort = Loopback.FreePort();
        await using var http = RunningProcess.Start(python, ["-m", "http.server", httpPort.ToString(), "--bind", "127.0.0.1", "--directory", dir.Path]);
        await ListeningPorts.WaitAsync(httpPort);
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{httpPort}");

        // ferry half-closes when its stdin ends, right after the request, and prints until the server closes.
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["127.0.0.1", ferryd.Port("forward").ToString()],
            Encoding.ASCII.GetBytes("GET /page.txt HTTP/1.0\r\n\r\n"), Generous);

        Assert.Equal(0, result.ExitCode);
        string reply = result.StdoutText;
        Assert.StartsWith("HTTP/1.0 200", reply);
        Assert.EndsWith(page, reply);
    }

    [Theory]
    [InlineData("v1")]
    [InlineData("v2")]
    public async Task HaproxyBehindForwardSeesTheRealClientThroughSendProxy(string version)
    {
        string haproxy = ExternalTool.Require("haproxy");
        await using var echo = await FerrydProcess.StartEchoAsync();
        int haproxyPort = Loopback.FreePort();
        using var dir = new TempDirectory();
        await File.WriteAllTextAsync(dir.File("haproxy.cfg"), $"""
            global
                log stdout format raw local0
            defaults
                mode tcp
                log global
                timeout connect 5s
                timeout client 30s
                timeout server 30s
            frontend behind_ferryd
                bind 127.0.0.1:{haproxyPort} accept-proxy
                option logasap
                log-format "client=%ci:%cp"
                default_backend echo
            backend echo
                server echo 127.0.0.1:{echo.Port()}
            """ + "\n", TestContext.Current.CancellationToken); // haproxy refuses a last line without its LF
        await using var proxy = await StartHaproxyAsync(haproxy, dir.File("haproxy.cfg"), haproxyPort);
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{haproxyPort}", $",sendProxy={version}");

        using var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
        var clientEnd = (IPEndPoint)client.LocalEndPoint!;
        await Loopback.SendAllAsync(client, "through haproxy\n"u8.ToArray());
        Assert.Equal("through haproxy\n", Encoding.ASCII.GetString(await Loopback.ReceiveAsync(client, 16, Generous)));

        string expected = $"client=127.0.0.1:{clientEnd.Port}";
        string logged;
        do
            logged = await proxy.ReadStdoutLineAsync(Generous);
        while (!logged.Contains("client="));
        Assert.Equal(expected, logged.Trim());
    }

    internal static async Task<RunningProcess> StartHaproxyAsync(string haproxy, string config, int port)
    {
        var proxy = RunningProcess.Start(haproxy, ["-db", "-f", config]);
        try
        {
            await ListeningPorts.WaitAsync(port);
            return proxy;
        }
        catch (Exception ex)
        {
            await proxy.DisposeAsync();
            throw new InvalidOperationException($"haproxy did not start: {proxy.StandardError}", ex);
        }
    }

    [Fact]
    public async Task ForwardBehindHaproxyTakesTheClientFromItsProxyHeader()
    {
        string haproxy = ExternalTool.Require("haproxy");
        await using var ferryd = await StartForwardToEchoAsync(",acceptProxy=on,proxyFrom=127.0.0.0/8");
        int haproxyPort = Loopback.FreePort();
        using var dir = new TempDirectory();
        await File.WriteAllTextAsync(dir.File("haproxy.cfg"), $"""
            defaults
                mode tcp
                timeout connect 5s
                timeout client 30s
                timeout server 30s
            frontend front
                bind 127.0.0.1:{haproxyPort}
                default_backend ferryd
            backend ferryd
                server ferryd 127.0.0.1:{ferryd.Port("forward")} send-proxy-v2
            """ + "\n", TestContext.Current.CancellationToken); // haproxy refuses a last line without its LF
        await using var proxy = await StartHaproxyAsync(haproxy, dir.File("haproxy.cfg"), haproxyPort);

        int clientPort;
        using (var client = await Loopback.ConnectAsync(haproxyPort))
        {
            clientPort = ((IPEndPoint)client.LocalEndPoint!).Port;
            await Loopback.SendAllAsync(client, "behind haproxy\n"u8.ToArray());
            Assert.Equal("behind haproxy\n", Encoding.ASCII.GetString(await Loopback.ReceiveAsync(client, 15, Generous)));
            client.Shutdown(SocketShutdown.Send);
            await Loopback.ReceiveToEndAsync(client, Generous);
        }
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains($"client 127.0.0.1:{clientPort} via 127.0.0.1:"),
            () => $"ferryd's close line does not name the client 127.0.0.1:{clientPort} from the PROXY header: {ferryd.Process.StandardError}");
    }

    [Fact]
    public async Task ProxyHeaderFromOutsideProxyFromOrMalformedIsRefused()
    {
        await using var ferryd = await StartForwardToEchoAsync(",acceptProxy=on,proxyFrom=10.9.9.9/32");
        using (var untrusted = await Loopback.ConnectAsync(ferryd.Port("forward")))
        {
            await Loopback.SendAllAsync(untrusted, "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\nhello\n"u8.ToArray());
            Assert.Empty(await Loopback.ReceiveToEndAsync(untrusted, Generous));
        }
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("is not in proxyFrom"),
            () => $"no refusal line for an untrusted PROXY sender: {ferryd.Process.StandardError}");
        Assert.Contains(": proxy header refused,", ferryd.Process.StandardError);
        Assert.DoesNotContain("1.2.3.4", ferryd.Process.StandardError);
    }

    [Fact]
    public async Task MalformedProxyHeaderFromATrustedSenderIsRefused()
    {
        await using var ferryd = await StartForwardToEchoAsync(",acceptProxy=on,proxyFrom=127.0.0.1/32");
        using var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
        await Loopback.SendAllAsync(client, "PROXY TCP4 1.2.3 5.6.7.8 1111 2222\r\nhello\n"u8.ToArray());
        Assert.Empty(await Loopback.ReceiveToEndAsync(client, Generous));
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("v1 header with an address that is not TCP4"),
            () => $"no refusal line naming what is wrong with the header: {ferryd.Process.StandardError}");
    }

    [Fact]
    public async Task FirstUpstreamDownFailsOverToTheNextAndSaysSoOnce()
    {
        int dead = Loopback.FreePort();
        int echoPort = Loopback.FreePort();
        await using var ferryd = await FerrydProcess.StartAsync(2, "--listen", $"127.0.0.1:{echoPort}=echo",
            "--listen", $"127.0.0.1:0=forward,to=127.0.0.1:{dead};127.0.0.1:{echoPort},balance=first");
        for (int i = 0; i < 5; i++)
        {
            using var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
            await Loopback.SendAllAsync(client, "ping\n"u8.ToArray());
            Assert.Equal("ping\n", Encoding.ASCII.GetString(await Loopback.ReceiveAsync(client, 5, Generous)));
        }
        await ServiceProtocolTests.WaitForAsync(
            () => ferryd.Process.StandardError.Split('\n').Count(l => l.Contains("close ") && l.Contains($"upstream 127.0.0.1:{echoPort}")) == 5,
            () => $"expected 5 close lines through upstream {echoPort}: {ferryd.Process.StandardError}");
        Assert.Single(ferryd.Process.StandardError.Split('\n'), l => l.Contains($"upstream 127.0.0.1:{dead} is down: connection refused"));
    }

    [Fact]
    public async Task UnreachableUpstreamsCloseTheClientAndOneLineNamesEachTried()
    {
        int dead1 = Loopback.FreePort(), dead2 = Loopback.FreePort();
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{dead1};127.0.0.1:{dead2}", ",retries=1,connectTimeout=2");
        using var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
        Assert.Empty(await Loopback.ReceiveToEndAsync(client, TimeSpan.FromSeconds(4 + 10)));
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains(": no upstream,"),
            () => $"no close line with the reason: {ferryd.Process.StandardError}");
        var failures = ferryd.Process.StandardError.Split('\n').Where(l => l.Contains("no upstream connected")).ToList();
        Assert.Single(failures);
        Assert.Contains($"127.0.0.1:{dead1} (127.0.0.1:{dead1}): connection refused", failures[0]);
        Assert.Contains($"127.0.0.1:{dead2} (127.0.0.1:{dead2}): connection refused", failures[0]);
    }

    [Fact]
    public async Task DeadUpstreamBroughtBackIsUsedAgain()
    {
        int upstreamPort = Loopback.FreePort();
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{upstreamPort}");
        using (var refused = await Loopback.ConnectAsync(ferryd.Port("forward")))
            Assert.Empty(await Loopback.ReceiveToEndAsync(refused, Generous));
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains($"upstream 127.0.0.1:{upstreamPort} is down"),
            () => $"no line saying the upstream is down: {ferryd.Process.StandardError}");

        await using var upstream = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:{upstreamPort}=echo");
        // Tried again after the first back-off (1 s).
        var deadline = DateTime.UtcNow + Generous;
        while (true)
        {
            using var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
            await Loopback.SendAllAsync(client, "back\n"u8.ToArray());
            client.Shutdown(SocketShutdown.Send);
            // Empty while the upstream is still taken for down: the client is closed at once.
            byte[] reply = await Loopback.ReceiveToEndAsync(client, Generous);
            if (reply.Length > 0)
            {
                Assert.Equal("back\n", Encoding.ASCII.GetString(reply));
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, "the upstream was never used again");
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains($"upstream 127.0.0.1:{upstreamPort} is up again"),
            () => $"no line saying the upstream is up again: {ferryd.Process.StandardError}");
    }

    [Fact]
    public async Task ActiveChecksTakeADeadUpstreamOutAndBringItBack()
    {
        int upstreamPort = Loopback.FreePort();
        var upstream = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:{upstreamPort}=echo");
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{upstreamPort}", ",check=on,checkInterval=0.2,rise=2,fall=2");
        await upstream.DisposeAsync();
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains($"upstream 127.0.0.1:{upstreamPort} is down: 2 checks failed"),
            () => $"the checks did not take the upstream down: {ferryd.Process.StandardError}");
        using (var refused = await Loopback.ConnectAsync(ferryd.Port("forward")))
            Assert.Empty(await Loopback.ReceiveToEndAsync(refused, Generous));
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("no upstream is up"),
            () => $"no line saying no upstream is up: {ferryd.Process.StandardError}");

        await using var back = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:{upstreamPort}=echo");
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains($"upstream 127.0.0.1:{upstreamPort} is up again: 2 checks passed"),
            () => $"the checks did not bring the upstream back: {ferryd.Process.StandardError}");
        using var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
        await Loopback.SendAllAsync(client, "ok\n"u8.ToArray());
        Assert.Equal("ok\n", Encoding.ASCII.GetString(await Loopback.ReceiveAsync(client, 3, Generous)));
    }

    [Theory]
    [InlineData("")]
    [InlineData(",splice=on")]
    public async Task UpstreamThatStopsReadingSlowsTheClientWithBoundedMemory(string options)
    {
        using var upstream = RawUpstream(receiveBuffer: 64 * 1024);
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{((IPEndPoint)upstream.LocalEndPoint!).Port}", options);
        long rssBefore = ProcessMemory.ResidentBytes(ferryd.Process.Pid);

        using var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
        client.SendBufferSize = 64 * 1024;
        using var accepted = await upstream.AcceptAsync(TestContext.Current.CancellationToken);
        var chunk = new byte[64 * 1024];
        long sent = 0;
        bool blocked = false;
        while (sent < 512L * 1024 * 1024)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                sent += await client.SendAsync(chunk, SocketFlags.None, cts.Token);
            }
            catch (OperationCanceledException)
            {
                blocked = true;
                break;
            }
        }
        Assert.True(blocked, $"forward kept taking {sent} bytes for an upstream that reads nothing");
        long grown = ProcessMemory.ResidentBytes(ferryd.Process.Pid) - rssBefore;
        Assert.True(sent < 32L * 1024 * 1024, $"{sent} bytes went in before the client was slowed");
        Assert.True(grown < 16L * 1024 * 1024, $"ferryd grew by {grown / 1024} KiB holding a stalled pair");
    }

    [Fact]
    public async Task SendProxyReachesAnUpstreamThatSpeaksFirstBeforeTheClientSaysAnything()
    {
        using var upstream = RawUpstream();
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{((IPEndPoint)upstream.LocalEndPoint!).Port}", ",sendProxy=v1");

        // Like SMTP behind a PROXY-aware server: the upstream waits for the header, then greets;
        // the client waits for the greeting.
        using var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
        int clientPort = ((IPEndPoint)client.LocalEndPoint!).Port;
        using var accepted = await upstream.AcceptAsync(TestContext.Current.CancellationToken);
        string expected = $"PROXY TCP4 127.0.0.1 127.0.0.1 {clientPort} {ferryd.Port("forward")}\r\n";
        Assert.Equal(expected, Encoding.ASCII.GetString(await Loopback.ReceiveAsync(accepted, expected.Length, Generous)));
        await Loopback.SendAllAsync(accepted, "220 ready\r\n"u8.ToArray());
        Assert.Equal("220 ready\r\n", Encoding.ASCII.GetString(await Loopback.ReceiveAsync(client, 11, Generous)));
    }

    [Fact]
    public async Task ClientClosedByIdleTimeoutCutsAnUpstreamThatStoppedReading()
    {
        using var upstream = RawUpstream(receiveBuffer: 64 * 1024);
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{((IPEndPoint)upstream.LocalEndPoint!).Port}", ",idleTimeout=1");
        using var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
        using var accepted = await upstream.AcceptAsync(TestContext.Current.CancellationToken);
        // Fill every buffer on the way: the pair then waits on the upstream in both directions.
        var chunk = new byte[64 * 1024];
        while (true)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(0.5));
            try
            {
                await client.SendAsync(chunk, SocketFlags.None, cts.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains(": idle timeout,"),
            () => $"the stalled pair was never closed: {ferryd.Process.StandardError}");
        // The upstream is reset, not left open with a pair's worth of bytes it will never be sent the rest of.
        await AssertResetAsync(accepted);
    }

    [Fact]
    public async Task ClientResetMidTransferResetsTheUpstream()
    {
        using var upstream = RawUpstream();
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{((IPEndPoint)upstream.LocalEndPoint!).Port}");

        var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
        using var accepted = await upstream.AcceptAsync(TestContext.Current.CancellationToken);
        await Loopback.SendAllAsync(client, RandomBytes(100_000, 5));
        Assert.Equal(100_000, (await Loopback.ReceiveAsync(accepted, 100_000, Generous)).Length);
        client.LingerState = new LingerOption(true, 0);
        client.Dispose(); // RST

        await AssertResetAsync(accepted);
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("client reset first"),
            () => $"no close line saying the client reset: {ferryd.Process.StandardError}");
    }

    [Fact]
    public async Task UpstreamResetIsPassedToTheClientAsAReset()
    {
        using var upstream = RawUpstream();
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{((IPEndPoint)upstream.LocalEndPoint!).Port}");

        using var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
        var accepted = await upstream.AcceptAsync(TestContext.Current.CancellationToken);
        await Loopback.SendAllAsync(accepted, "before the reset\n"u8.ToArray());
        Assert.Equal(17, (await Loopback.ReceiveAsync(client, 17, Generous)).Length);
        accepted.LingerState = new LingerOption(true, 0);
        accepted.Dispose();

        await AssertResetAsync(client);
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains(": upstream reset,"),
            () => $"no close line saying the upstream reset: {ferryd.Process.StandardError}");
    }

    [Fact]
    public async Task HalfClosedPairIsClosedAfterFinTimeout()
    {
        using var upstream = RawUpstream();
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{((IPEndPoint)upstream.LocalEndPoint!).Port}", ",finTimeout=1");
        using var client = await Loopback.ConnectAsync(ferryd.Port("forward"));
        using var accepted = await upstream.AcceptAsync(TestContext.Current.CancellationToken);
        client.Shutdown(SocketShutdown.Send);
        // The upstream sees the client's FIN, and never closes its side: the pair is cut after finTimeout.
        Assert.Empty(await Loopback.ReceiveToEndAsync(accepted, Generous));
        // Cut, so reset: a FIN would tell the client the upstream's side ended complete.
        await AssertResetAsync(client);
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains(": fin timeout,"),
            () => $"no close line for the fin timeout: {ferryd.Process.StandardError}");
    }

    /// <summary>A ferryd TLS echo listener (the upstream) with the given certificate.</summary>
    private static Task<FerrydProcess> StartTlsEchoAsync(string cert, string key) =>
        FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=echo,cert={cert},key={key}");

    [Fact]
    public async Task UpstreamTlsVerifiesTheUpstreamAgainstUpstreamCaAndCarriesTheBytes()
    {
        using var certificates = new TestCertificates();
        await using var upstream = await StartTlsEchoAsync(certificates.ServerCert, certificates.ServerKey);
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{upstream.Port()}",
            $",upstreamTls=on,upstreamCa={certificates.CaFile}");
        byte[] payload = RandomBytes(1024 * 1024, 21);
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["127.0.0.1", ferryd.Port("forward").ToString()], payload, Generous);
        Assert.True(result.ExitCode == 0, $"ferry exited {result.ExitCode}: {result.Stderr}\nferryd: {ferryd.Process.StandardError}\nupstream: {upstream.Process.StandardError}");
        Assert.True(payload.AsSpan().SequenceEqual(result.Stdout), $"{result.Stdout.Length} bytes came back through TLS, not {payload.Length}");
    }

    [Fact]
    public async Task UpstreamWithAnUntrustedCertificateIsRefusedUnlessUpstreamInsecure()
    {
        using var certificates = new TestCertificates();
        await using var upstream = await StartTlsEchoAsync(certificates.SelfSignedCert, certificates.SelfSignedKey);
        await using (var verifying = await StartForwardAsync(echo: false, to: $"127.0.0.1:{upstream.Port()}",
            $",upstreamTls=on,upstreamCa={certificates.CaFile}"))
        {
            using var client = await Loopback.ConnectAsync(verifying.Port("forward"));
            await Loopback.SendAllAsync(client, "secret\n"u8.ToArray());
            client.Shutdown(SocketShutdown.Send);
            Assert.Empty(await Loopback.ReceiveToEndAsync(client, Generous));
            await ServiceProtocolTests.WaitForAsync(() => verifying.Process.StandardError.Contains("no upstream connected: ")
                && verifying.Process.StandardError.Contains("TLS: its certificate 'CN=localhost' is not signed by upstreamCa"),
                () => $"no close line saying why the upstream's certificate was refused: {verifying.Process.StandardError}");
        }

        await using var insecure = await StartForwardAsync(echo: false, to: $"127.0.0.1:{upstream.Port()}", ",upstreamTls=on,upstreamInsecure=on");
        Assert.Contains("upstream certificates are not verified", insecure.Process.StandardError + await insecure.Process.ReadStderrLineAsync(Generous));
        using var trusting = await Loopback.ConnectAsync(insecure.Port("forward"));
        await Loopback.SendAllAsync(trusting, "anyway\n"u8.ToArray());
        Assert.Equal("anyway\n", Encoding.ASCII.GetString(await Loopback.ReceiveAsync(trusting, 7, Generous)));
    }

    [Fact]
    public async Task TlsTerminatingForwardPassesTheUpstreamsEndOnAsCloseNotify()
    {
        using var certificates = new TestCertificates();
        await using var upstream = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=daytime");
        await using var ferryd = await StartForwardAsync(echo: false, to: $"127.0.0.1:{upstream.Port("daytime")}",
            $",cert={certificates.ServerCert},key={certificates.ServerKey},finTimeout=120");
        // ferry's stdin stays open: it ends only when the forward passes on the upstream's end.
        await using var client = RunningProcess.Start(Binaries.Ferry, ["--tls", "--ca", certificates.CaFile, "127.0.0.1", ferryd.Port("forward").ToString()]);
        string line = await client.ReadStdoutLineAsync(Generous);
        Assert.Matches(@"^\w{3}, \d{2} \w{3} \d{4} ", line);
        Assert.Equal(0, await client.WaitForExitAsync(Generous));
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("upstream closed first"),
            () => $"no close line saying the upstream closed first: {ferryd.Process.StandardError}");
    }

    [Theory]
    [InlineData("127.0.0.1:0=forward", "forward needs to=HOST:PORT")]
    [InlineData("127.0.0.1:0=forward,to=127.0.0.1", "to=127.0.0.1: invalid port")]
    [InlineData("127.0.0.1:0=forward,to=127.0.0.1:1,balance=random", "balance=random: not one of roundrobin, leastconn, first")]
    [InlineData("127.0.0.1:0=forward,to=127.0.0.1:1,acceptProxy=on", "acceptProxy=on needs proxyFrom=")]
    [InlineData("127.0.0.1:0=forward,to=127.0.0.1:1,sendProxy=v3", "sendProxy=v3: not one of off, v1, v2")]
    [InlineData("127.0.0.1:0=forward,to=no-such-host.invalid:80", "cannot resolve no-such-host.invalid")]
    public async Task BadForwardOptionsAreAUsageErrorNamingTheKey(string listen, string expected)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", listen], timeout: Generous);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    [Fact]
    public async Task AcceptProxyWithTlsOnTheListenerIsRefusedAtStart()
    {
        using var certificates = new TestCertificates();
        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen",
            $"127.0.0.1:0=forward,to=127.0.0.1:1,acceptProxy=on,proxyFrom=127.0.0.1,cert={certificates.ServerCert},key={certificates.ServerKey}"],
            timeout: Generous);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("acceptProxy=on cannot be combined with TLS on the listener", result.Stderr);
    }
}
