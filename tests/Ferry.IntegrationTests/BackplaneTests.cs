using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// backplane=redis://…: two ferryd processes with the same cluster on one real redis-server are one
/// chat hub and one broker; a Redis restart loses no line.
/// </summary>
public sealed class BackplaneTests
{
    private sealed class Redis : IAsyncDisposable
    {
        private readonly string _server;
        private readonly TempDirectory _directory = new();
        private RunningProcess? _process;

        private Redis(string server, int port)
        {
            _server = server;
            Port = port;
        }

        public int Port { get; }

        public string Url => $"redis://127.0.0.1:{Port}";

        /// <summary>With AOF on, as a deployment that must lose nothing across a restart runs it.</summary>
        public static async Task<Redis> StartAsync()
        {
            var redis = new Redis(ExternalTool.Require("redis-server"), Loopback.FreePort());
            await redis.RestartAsync();
            return redis;
        }

        public async Task StopAsync()
        {
            if (_process is null)
                return;
            _process.Signal(Signals.SigTerm);
            await _process.WaitForExitAsync(TimeSpan.FromSeconds(15));
            await _process.DisposeAsync();
            _process = null;
        }

        public async Task RestartAsync()
        {
            _process = RunningProcess.Start(_server, ["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", _directory.Path]);
            await ListeningPorts.WaitAsync(Port);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _directory.Dispose();
        }
    }

    private static Task<FerrydProcess> StartNodeAsync(Redis redis, string service) =>
        FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0={service},backplane={redis.Url},cluster=test");

    [Fact]
    public async Task ALineSaidOnOneNodeReachesTheRoomOnTheOtherInOrder()
    {
        await using var redis = await Redis.StartAsync();
        await using var a = await StartNodeAsync(redis, "chat");
        await using var b = await StartNodeAsync(redis, "chat");
        using var alice = await LineClient.ConnectAsync(a.Port("chat"));
        using var bob = await LineClient.ConnectAsync(b.Port("chat"));
        await alice.SendLineAsync("/join dev");
        await bob.SendLineAsync("/join dev");
        await alice.ExpectAsync(line => line.Contains("joined #dev", StringComparison.Ordinal), "bob's join, from the other node");

        // Guests of two nodes never share a name.
        Assert.Matches(@"^guest-[0-9a-f]{4}-1$", alice.Seen[0].Split(' ')[3]);
        Assert.NotEqual(alice.Seen[0].Split(' ')[3], bob.Seen.Count > 0 ? bob.Seen[0].Split(' ')[3] : (await bob.ReadLineAsync())!.Split(' ')[3]);
        for (int i = 0; i < 100; i++)
            await alice.SendLineAsync($"line {i}");
        for (int i = 0; i < 100; i++)
            await bob.ExpectAsync(line => line.EndsWith($"> line {i}", StringComparison.Ordinal), $"line {i}, in order");
    }

    [Fact]
    public async Task BrokerBytesFromOneNodeReachClientsOnTheOther()
    {
        await using var redis = await Redis.StartAsync();
        await using var a = await StartNodeAsync(redis, "broker");
        await using var b = await StartNodeAsync(redis, "broker");
        using var sender = await Loopback.ConnectAsync(a.Port("broker"));
        using var receiver = await Loopback.ConnectAsync(b.Port("broker"));
        await Task.Delay(500, TestContext.Current.CancellationToken);

        byte[] payload = RandomNumberGenerator.GetBytes(256 * 1024);
        await Loopback.SendAllAsync(sender, payload);
        Assert.Equal(payload, await Loopback.ReceiveAsync(receiver, payload.Length, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task ARedisRestartLosesNoLineAndMembersAreToldOnce()
    {
        await using var redis = await Redis.StartAsync();
        await using var a = await StartNodeAsync(redis, "chat");
        await using var b = await StartNodeAsync(redis, "chat");
        using var alice = await LineClient.ConnectAsync(a.Port("chat"));
        using var bob = await LineClient.ConnectAsync(b.Port("chat"));
        await alice.ExpectAsync(line => line.Contains("joined #lobby", StringComparison.Ordinal), "bob's join, from the other node");
        await alice.SendLineAsync("before");
        await bob.ExpectAsync(line => line.EndsWith("> before", StringComparison.Ordinal), "the line before the outage");

        await redis.StopAsync();
        await alice.ExpectAsync("* other servers unreachable; your messages reach this server only");
        for (int i = 0; i < 20; i++)
            await alice.SendLineAsync($"during {i}");
        // Issue 16's bound: a restart of up to 10 s loses nothing.
        await Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await redis.RestartAsync();

        for (int i = 0; i < 20; i++)
            await bob.ExpectAsync(line => line.EndsWith($"> during {i}", StringComparison.Ordinal), $"line {i} said during the outage");
        await alice.SendLineAsync("after");
        await bob.ExpectAsync(line => line.EndsWith("> after", StringComparison.Ordinal), "the line after the outage");
        Assert.Single(alice.Seen, line => line.Contains("unreachable", StringComparison.Ordinal));
        Assert.DoesNotContain(bob.Seen.Concat(alice.Seen), line => line.Contains("were lost", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StatusAndMetricsShowTheBackplane()
    {
        await using var redis = await Redis.StartAsync();
        await using var sandbox = new DaemonSandbox();
        await using var a = await FerrydProcess.StartAsync(2, "--listen", $"127.0.0.1:0=chat,backplane={redis.Url},cluster=test",
            "--metrics", "0", "--pid-file", sandbox.PidFile);
        var status = await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile);
        Assert.Matches($@"backplane 127\.0\.0\.1:{redis.Port} cluster test: connected, 0 lines waiting, 0 dropped, 0 of others lost", status.StdoutText);
        var scrape = await Scrape.GetAsync(a.Port("metrics"));
        Assert.Equal(1, scrape.Value("ferry_backplane_up", ("service", "chat")));

        await redis.StopAsync();
        using var alice = await LineClient.ConnectAsync(a.Port("chat"));
        await alice.SendLineAsync("nobody else hears this yet");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string text;
        do
        {
            await Task.Delay(200, TestContext.Current.CancellationToken);
            text = (await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile)).StdoutText;
        }
        while (!text.Contains("unreachable", StringComparison.Ordinal) && DateTime.UtcNow < deadline);
        Assert.Matches(@"backplane 127\.0\.0\.1:\d+ cluster test: unreachable \(.+\), [1-9]\d* lines waiting", text);
        Assert.Equal(0, (await Scrape.GetAsync(a.Port("metrics"))).Value("ferry_backplane_up", ("service", "chat")));
    }

    [Fact]
    public async Task WhoRoomsAndNicksSpanTheNodesAndADeadNodesMembersLeaveWithinThreeHeartbeats()
    {
        await using var redis = await Redis.StartAsync();
        string[] Node() => ["--listen", $"127.0.0.1:0=chat,backplane={redis.Url},cluster=test,heartbeat=1"];
        await using var a = await FerrydProcess.StartAsync(1, Node());
        await using var b = await FerrydProcess.StartAsync(1, Node());
        using var ann = await LineClient.ConnectAsync(a.Port("chat"));
        using var bob = await LineClient.ConnectAsync(b.Port("chat"));
        await ann.SendLineAsync("/nick ann");
        await ann.ExpectAsync("* you are now ann");
        await bob.SendLineAsync("/nick bob");
        await bob.ExpectAsync("* you are now bob");

        // Each node sees the other's members in /who and /rooms, and their nicks are taken.
        await UntilAsync(bob, "/who", "* #lobby: ann, bob");
        await UntilAsync(ann, "/who", "* #lobby: ann, bob");
        await bob.SendLineAsync("/join dev");
        await UntilAsync(ann, "/rooms", "* rooms: #dev (1), #lobby (1)");
        await bob.SendLineAsync("/nick ann");
        await bob.ExpectAsync("! nick ann is taken");
        await bob.SendLineAsync("/nick ANN");
        await bob.ExpectAsync("! nick ANN is taken");
        await bob.SendLineAsync("/join lobby");
        await bob.ExpectAsync(line => line.StartsWith("* you are bob in #lobby (2 members)", StringComparison.Ordinal), "the count of both nodes");

        // Node A dies without a word: within three heartbeats (3 s) B's members are told and /who forgets ann.
        a.Process.Signal(Signals.SigKill);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await bob.ExpectAsync("* ann left #lobby (their server is gone)");
        // Three heartbeats, and slack for a loaded machine.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"told after {clock.Elapsed}");
        await UntilAsync(bob, "/who", "* #lobby: bob");
        // And the nick is free again.
        await bob.SendLineAsync("/nick ann");
        await bob.ExpectAsync("* you are now ann");
    }

    /// <summary>Asks again until the answer is <paramref name="expected"/>: the other node's view follows within a heartbeat.</summary>
    private static async Task UntilAsync(LineClient client, string command, string expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            await client.SendLineAsync(command);
            last = await client.ExpectAsync(line => line.StartsWith("* #", StringComparison.Ordinal) || line.StartsWith("* rooms:", StringComparison.Ordinal), command);
            if (last == expected)
                return;
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        Assert.Fail($"{command} answered '{last}', not '{expected}'");
    }

    [Theory]
    [InlineData("backplane=nonsense://x", "backplane=nonsense://x")]
    [InlineData("backplane=redis://127.0.0.1", "HOST:PORT")]
    [InlineData("cluster=hub", "cluster= needs backplane=")]
    public async Task BadBackplaneOptionsAreUsageErrors(string option, string message)
    {
        await using var sandbox = new DaemonSandbox();
        var run = await sandbox.FerrydAsync("--listen", $"127.0.0.1:0=chat,{option}");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Stderr.Split('\n')[0]);
    }
}
