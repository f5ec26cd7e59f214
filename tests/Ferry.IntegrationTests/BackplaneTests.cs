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

        byte[] payload = RandomNumberGenerator.GetBytes(10 * 1024 * 1024);
        var receiving = Loopback.ReceiveAsync(receiver, payload.Length, TimeSpan.FromSeconds(60));
        await Loopback.SendAllAsync(sender, payload);
        byte[] arrived = await receiving;
        Assert.True(payload.AsSpan().SequenceEqual(arrived), $"{arrived.Length} bytes arrived, not the 10 MiB sent");
    }

    [Fact]
    public async Task ARedisRestartLosesNoLineAndMembersAreToldOnce()
    {
        await using var redis = await Redis.StartAsync();
        await using var a = await StartNodeAsync(redis, "chat");
        await using var b = await StartNodeAsync(redis, "chat");
        using var alice = await LineClient.ConnectAsync(a.Port("chat"));
        using var carol = await LineClient.ConnectAsync(a.Port("chat"));
        using var bob = await LineClient.ConnectAsync(b.Port("chat"));
        using var dave = await LineClient.ConnectAsync(b.Port("chat"));
        foreach (var member in new[] { alice, carol, bob, dave })
            await UntilAsync(member, "/who", null, answer => answer.Split(',').Length == 4);
        await alice.SendLineAsync("before");
        await bob.ExpectAsync(line => line.EndsWith("> before", StringComparison.Ordinal), "the line before the outage");

        await redis.StopAsync();
        await alice.ExpectAsync("* other servers unreachable; your messages reach this server only");
        await bob.ExpectAsync("* other servers unreachable; your messages reach this server only");
        for (int i = 0; i < 20; i++)
        {
            await alice.SendLineAsync($"from a {i}");
            await bob.SendLineAsync($"from b {i}");
        }
        // Members on the same node hear each other all along.
        for (int i = 0; i < 20; i++)
        {
            await carol.ExpectAsync(line => line.EndsWith($"> from a {i}", StringComparison.Ordinal), $"a's line {i}, locally, during the outage");
            await dave.ExpectAsync(line => line.EndsWith($"> from b {i}", StringComparison.Ordinal), $"b's line {i}, locally, during the outage");
        }
        // Issue 16's bound: a restart of up to 10 s loses nothing.
        await Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await redis.RestartAsync();

        for (int i = 0; i < 20; i++)
        {
            await bob.ExpectAsync(line => line.EndsWith($"> from a {i}", StringComparison.Ordinal), $"a's line {i}, after the outage");
            await dave.ExpectAsync(line => line.EndsWith($"> from a {i}", StringComparison.Ordinal), $"a's line {i}, after the outage");
            await alice.ExpectAsync(line => line.EndsWith($"> from b {i}", StringComparison.Ordinal), $"b's line {i}, after the outage");
            await carol.ExpectAsync(line => line.EndsWith($"> from b {i}", StringComparison.Ordinal), $"b's line {i}, after the outage");
        }
        await alice.SendLineAsync("after");
        await bob.ExpectAsync(line => line.EndsWith("> after", StringComparison.Ordinal), "the line after the outage");
        foreach (var member in new[] { alice, carol, bob, dave })
        {
            Assert.Single(member.Seen, line => line.Contains("unreachable", StringComparison.Ordinal));
            // Told when this node's connection is back: before or after the first lines from the other node.
            if (!member.Seen.Contains("* other servers reachable again"))
                await member.ExpectAsync("* other servers reachable again");
            Assert.Single(member.Seen, line => line == "* other servers reachable again");
            Assert.DoesNotContain(member.Seen, line => line.Contains("were lost", StringComparison.Ordinal));
            // Every heartbeat in Redis was old when it came back: no live node may be taken for dead.
            Assert.DoesNotContain(member.Seen, line => line.Contains("server is gone", StringComparison.Ordinal));
        }
        await UntilAsync(alice, "/who", null, answer => answer.Split(',').Length == 4);
        // One Warning per outage per node.
        Assert.Single(a.Process.StandardError.Split('\n'), line => line.Contains("unreachable (", StringComparison.Ordinal));
        Assert.Single(b.Process.StandardError.Split('\n'), line => line.Contains("unreachable (", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TwentyClientsSpreadByHaproxyOverTwoNodesChatInOneRoom()
    {
        string haproxy = ExternalTool.Require("haproxy");
        await using var redis = await Redis.StartAsync();
        await using var a = await StartNodeAsync(redis, "chat");
        await using var b = await StartNodeAsync(redis, "chat");
        using var directory = new TempDirectory();
        int front = Loopback.FreePort();
        await File.WriteAllTextAsync(directory.File("haproxy.cfg"), $"""
            defaults
                mode tcp
                timeout connect 5s
                timeout client 60s
                timeout server 60s
            frontend chat
                bind 127.0.0.1:{front}
                default_backend ferryds
            backend ferryds
                balance roundrobin
                server a 127.0.0.1:{a.Port("chat")}
                server b 127.0.0.1:{b.Port("chat")}
            """ + "\n", TestContext.Current.CancellationToken);
        await using var proxy = await ForwardTests.StartHaproxyAsync(haproxy, directory.File("haproxy.cfg"), front);

        var members = new List<LineClient>();
        try
        {
            for (int i = 0; i < 20; i++)
                members.Add(await LineClient.ConnectAsync(front));
            // Both nodes got members: guests are named after their node.
            await UntilAsync(members[0], "/who", null, answer => answer.Split(',').Length == 20);
            Assert.Equal(2, (await Task.WhenAll(members.Select(NodeOfAsync))).Distinct().Count());
            for (int i = 0; i < 20; i++)
                await members[i].SendLineAsync($"hello from {i}");
            // Every member hears the 19 others, whichever node each is on (senders' lines interleave in any order).
            for (int i = 0; i < 20; i++)
            {
                var heard = new HashSet<string>(StringComparer.Ordinal);
                while (heard.Count < 19)
                {
                    string line = await members[i].ExpectAsync(l => l.Contains("> hello from ", StringComparison.Ordinal), $"the others' lines at member {i}");
                    heard.Add(line[(line.IndexOf("> ", StringComparison.Ordinal) + 2)..]);
                }
                Assert.DoesNotContain($"hello from {i}", heard);
            }
        }
        finally
        {
            foreach (var member in members)
                member.Dispose();
        }

        static async Task<string> NodeOfAsync(LineClient member)
        {
            await member.SendLineAsync("/nick");
            string answer = await member.ExpectAsync(line => line.StartsWith("* you are guest-", StringComparison.Ordinal), "its name");
            return answer.Split('-')[1];
        }
    }

    [Fact]
    public async Task WithRedisAbsentOrRefusingAtStartFerrydServesLocallyAndSaysSoOnce()
    {
        int absent = Loopback.FreePort();
        await using var lonely = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=chat,backplane=redis://127.0.0.1:{absent},cluster=test");
        using var ann = await LineClient.ConnectAsync(lonely.Port("chat"));
        using var bob = await LineClient.ConnectAsync(lonely.Port("chat"));
        // Both in the room before the line: the welcome, which counts the room's members, comes
        // once a member has joined, and under load the second client may be served first.
        await JoinedAsync(ann, bob);
        await bob.SendLineAsync("local works");
        await ann.ExpectAsync(line => line.EndsWith("> local works", StringComparison.Ordinal), "a local line");

        string server = ExternalTool.Require("redis-server");
        using var directory = new TempDirectory();
        int guarded = Loopback.FreePort();
        await using var redis = RunningProcess.Start(server, ["--port", guarded.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", directory.Path, "--requirepass", "right"]);
        await ListeningPorts.WaitAsync(guarded);
        await using var refused = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=chat,backplane=redis://:wrong@127.0.0.1:{guarded},cluster=test");
        using var carol = await LineClient.ConnectAsync(refused.Port("chat"));
        using var dave = await LineClient.ConnectAsync(refused.Port("chat"));
        await JoinedAsync(carol, dave);
        await dave.SendLineAsync("still local");
        await carol.ExpectAsync(line => line.EndsWith("> still local", StringComparison.Ordinal), "a local line");

        // Both keep trying (every second at most); each said so in one line.
        await ServiceProtocolTests.WaitForAsync(() => lonely.Process.StandardError.Contains("unreachable (", StringComparison.Ordinal)
            && refused.Process.StandardError.Contains("unreachable (", StringComparison.Ordinal),
            () => "no warning: " + lonely.Process.StandardError + refused.Process.StandardError);
        await Task.Delay(TimeSpan.FromSeconds(4), TestContext.Current.CancellationToken);
        Assert.Single(lonely.Process.StandardError.Split('\n'), line => line.Contains("unreachable (", StringComparison.Ordinal));
        string[] warnings = [.. refused.Process.StandardError.Split('\n').Where(line => line.Contains("unreachable (", StringComparison.Ordinal))];
        Assert.Single(warnings);
        Assert.DoesNotContain("   at ", lonely.Process.StandardError + refused.Process.StandardError);

        static async Task JoinedAsync(params LineClient[] members)
        {
            foreach (var member in members)
                await member.ExpectAsync(line => line.StartsWith("* you are guest-", StringComparison.Ordinal), "its welcome");
        }
    }

    [Fact]
    public async Task StatusAndMetricsShowTheBackplane()
    {
        await using var redis = await Redis.StartAsync();
        await using var sandbox = new DaemonSandbox();
        await using var a = await FerrydProcess.StartAsync(2, "--listen", $"127.0.0.1:0=chat,backplane={redis.Url},cluster=test",
            "--metrics", "0", "--pid-file", sandbox.PidFile);
        // The backplane connects in the background: "connecting" until the first attempt has an answer.
        string status = await StatusWhenAsync(sandbox, text => !text.Contains(": connecting,", StringComparison.Ordinal));
        Assert.Matches($@"backplane 127\.0\.0\.1:{redis.Port} cluster test: connected, 0 lines waiting, 0 dropped, 0 of others lost", status);
        var scrape = await Scrape.GetAsync(a.Port("metrics"));
        Assert.Equal(1, scrape.Value("ferry_backplane_up", ("service", "chat")));

        await redis.StopAsync();
        using var alice = await LineClient.ConnectAsync(a.Port("chat"));
        await alice.SendLineAsync("nobody else hears this yet");
        string text = await StatusWhenAsync(sandbox, text => text.Contains("unreachable", StringComparison.Ordinal));
        Assert.Matches(@"backplane 127\.0\.0\.1:\d+ cluster test: unreachable \(.+\), [1-9]\d* lines waiting", text);
        Assert.Equal(0, (await Scrape.GetAsync(a.Port("metrics"))).Value("ferry_backplane_up", ("service", "chat")));

        // "ferryd status" once it says what is awaited, or after 20 s (the assertions then say what it said).
        static async Task<string> StatusWhenAsync(DaemonSandbox sandbox, Func<string, bool> awaited)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (true)
            {
                string text = (await sandbox.FerrydAsync("status", "--pid-file", sandbox.PidFile)).StdoutText;
                if (awaited(text) || DateTime.UtcNow > deadline)
                    return text;
                await Task.Delay(200, TestContext.Current.CancellationToken);
            }
        }
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

    /// <summary>Asks again until the answer is <paramref name="expected"/> (or passes <paramref name="check"/>): the other node's view follows within a heartbeat.</summary>
    private static async Task UntilAsync(LineClient client, string command, string? expected, Func<string, bool>? check = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            await client.SendLineAsync(command);
            last = await client.ExpectAsync(line => line.StartsWith("* #", StringComparison.Ordinal) || line.StartsWith("* rooms:", StringComparison.Ordinal), command);
            if (check?.Invoke(last) ?? last == expected)
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
