using System.Net.Sockets;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>The chat service of a real ferryd, driven by nc processes and plain sockets.</summary>
public sealed class ChatTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>An nc process as a chat user: lines to its stdin, lines from its stdout.</summary>
    private sealed class NetcatUser(RunningProcess process) : IAsyncDisposable
    {
        public List<string> Seen { get; } = [];

        public static NetcatUser Start(string nc, int port) => new(RunningProcess.Start(nc, ["127.0.0.1", port.ToString()]));

        public async Task SayAsync(string line)
        {
            await process.StandardInput.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), Token);
            await process.StandardInput.FlushAsync(Token);
        }

        public async Task<string> ExpectAsync(Func<string, bool> match, string what)
        {
            while (true)
            {
                string line;
                try
                {
                    line = await process.ReadStdoutLineAsync(LineClient.Timeout);
                }
                catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
                {
                    throw new Xunit.Sdk.XunitException($"nc never printed {what}; it printed: {string.Join(" | ", Seen)} ({ex.Message})");
                }
                Seen.Add(line);
                if (match(line))
                    return line;
            }
        }

        public Task<string> ExpectAsync(string exact) => ExpectAsync(l => l == exact, $"'{exact}'");

        public ValueTask DisposeAsync() => process.DisposeAsync();
    }

    [Fact]
    public async Task ThreeNetcatClientsExchangeLinesInARoom()
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=chat");
        int port = ferryd.Port("chat");
        await using var ann = NetcatUser.Start(nc, port);
        await ann.ExpectAsync(l => l.StartsWith("* you are guest-1 in #lobby (1 member)", StringComparison.Ordinal), "the welcome");
        await ann.SayAsync("/nick ann");
        await ann.ExpectAsync("* you are now ann");
        await using var bob = NetcatUser.Start(nc, port);
        await bob.ExpectAsync(l => l.StartsWith("* you are guest-", StringComparison.Ordinal) && l.Contains("in #lobby (2 members)"), "the welcome");
        await bob.SayAsync("/nick bob");
        await bob.ExpectAsync("* you are now bob");
        await using var cid = NetcatUser.Start(nc, port);
        await cid.ExpectAsync(l => l.Contains("in #lobby (3 members)"), "the welcome");
        await cid.SayAsync("/nick cid");
        await cid.ExpectAsync("* you are now cid");
        await ann.ExpectAsync(l => l.EndsWith("is now known as cid", StringComparison.Ordinal), "cid's rename");
        await bob.ExpectAsync(l => l.EndsWith("is now known as cid", StringComparison.Ordinal), "cid's rename");

        // Every line reaches the other two members, prefixed with its sender's nick, and not its sender.
        await ann.SayAsync("hello from ann");
        await bob.ExpectAsync("<ann> hello from ann");
        await cid.ExpectAsync("<ann> hello from ann");
        await bob.SayAsync("hi ann, bob here");
        await ann.ExpectAsync("<bob> hi ann, bob here");
        await cid.ExpectAsync("<bob> hi ann, bob here");
        await cid.SayAsync("//slash is literal");
        await ann.ExpectAsync("<cid> /slash is literal");
        await bob.ExpectAsync("<cid> /slash is literal");
        await ann.SayAsync("/who");
        // The next line ann sees is the reply, so her own message was not echoed to her.
        await ann.ExpectAsync(l => l.StartsWith("* #lobby:", StringComparison.Ordinal), "the /who reply");
        Assert.DoesNotContain("<ann> hello from ann", ann.Seen);
        Assert.Equal("* #lobby: ann, bob, cid", ann.Seen[^1]);

        // Rooms separate conversations; joins and leaves are announced.
        await cid.SayAsync("/join dev");
        await cid.ExpectAsync("* you are cid in #dev (1 member); /help lists commands");
        await ann.ExpectAsync("* cid left #lobby");
        await bob.ExpectAsync("* cid left #lobby");
        await bob.SayAsync("/join #dev");
        await cid.ExpectAsync("* bob joined #dev");
        await ann.ExpectAsync("* bob left #lobby");
        await ann.SayAsync("only the lobby hears this");
        await cid.SayAsync("only dev hears this");
        await bob.ExpectAsync("<cid> only dev hears this");
        await bob.SayAsync("/rooms");
        await bob.ExpectAsync("* rooms: #dev (2), #lobby (1)");
        Assert.DoesNotContain(bob.Seen, l => l.Contains("only the lobby"));

        await bob.SayAsync("/part");
        await bob.ExpectAsync(l => l.StartsWith("* you are bob in #lobby", StringComparison.Ordinal), "back in the lobby");
        await cid.ExpectAsync("* bob left #dev");
        await ann.ExpectAsync("* bob joined #lobby");
        await bob.SayAsync("/quit");
        await bob.ExpectAsync("* bye");
        await ann.ExpectAsync("* bob left #lobby (quit)");
    }

    [Fact]
    public async Task NickCollisionsAndBadNicksAreRejected()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=chat");
        using var first = await LineClient.ConnectAsync(ferryd.Port("chat"));
        using var second = await LineClient.ConnectAsync(ferryd.Port("chat"));
        await first.ExpectAsync(l => l.StartsWith("* you are guest-", StringComparison.Ordinal), "welcome");
        await second.ExpectAsync(l => l.StartsWith("* you are guest-", StringComparison.Ordinal), "welcome");

        await first.SendLineAsync("/nick sam");
        await first.ExpectAsync("* you are now sam");
        await second.SendLineAsync("/nick SAM");
        await second.ExpectAsync("! nick SAM is taken");
        await second.SendLineAsync("/nick 9lives");
        await second.ExpectAsync(l => l.StartsWith("! invalid nick '9lives'", StringComparison.Ordinal), "invalid nick");
        await second.SendLineAsync("/nick way-too-long-a-nickname-x");
        await second.ExpectAsync(l => l.StartsWith("! invalid nick", StringComparison.Ordinal), "too long nick");
        await second.SendLineAsync("/who");
        await second.ExpectAsync(l => l.StartsWith("* #lobby: ", StringComparison.Ordinal) && l.Contains("sam") && l.Contains("guest-"), "who");

        // A nick is free again once its holder leaves.
        first.Socket.Shutdown(SocketShutdown.Both);
        await second.ExpectAsync("* sam left #lobby (disconnected)");
        await second.SendLineAsync("/nick sam");
        await second.ExpectAsync("* you are now sam");
    }

    [Fact]
    public async Task OverLongLineGetsAnErrorAndTheStreamStaysInSync()
    {
        await using var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", "127.0.0.1:0=chat,maxLine=32", "--listen", "127.0.0.1:0=chat,maxLine=32,overlong=close");
        using var talker = await LineClient.ConnectAsync(ferryd.Listeners[0].EndPoint.Port);
        using var listener = await LineClient.ConnectAsync(ferryd.Listeners[0].EndPoint.Port);
        await talker.ExpectAsync(l => l.StartsWith("* you are", StringComparison.Ordinal), "welcome");
        await listener.ExpectAsync(l => l.StartsWith("* you are", StringComparison.Ordinal), "welcome");

        await talker.SendAsync("before\n" + new string('x', 5000) + "\nafter\n");
        await talker.ExpectAsync("! line too long (max 32 bytes); discarded");
        await listener.ExpectAsync(l => l.EndsWith("> before", StringComparison.Ordinal), "the line before");
        string next = await listener.ExpectAsync(l => l.StartsWith('<'), "the line after");
        Assert.EndsWith("> after", next);

        using var closing = await LineClient.ConnectAsync(ferryd.Listeners[1].EndPoint.Port);
        await closing.ExpectAsync(l => l.StartsWith("* you are", StringComparison.Ordinal), "welcome");
        await closing.SendAsync(new string('y', 100) + "\n/who\n");
        await closing.ExpectAsync("! line too long (max 32 bytes); closing");
        Assert.Null(await closing.ReadLineAsync());
    }

    [Fact]
    public async Task InvalidUtf8IsReplacedAndNulAndEscapesAreRemoved()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=chat");
        using var talker = await LineClient.ConnectAsync(ferryd.Port("chat"));
        using var listener = await LineClient.ConnectAsync(ferryd.Port("chat"));
        await talker.ExpectAsync(l => l.StartsWith("* you are", StringComparison.Ordinal), "welcome");
        await listener.ExpectAsync(l => l.StartsWith("* you are", StringComparison.Ordinal), "welcome");
        await talker.SendLineAsync("/nick t");
        await talker.ExpectAsync("* you are now t");

        byte[] raw = [.. "a\0b"u8, 0xff, 0xfe, .. "c\u001b[31md\u00e9\tz"u8, 0xe2, 0x82, (byte)'\n'];
        await Loopback.SendAllAsync(talker.Socket, raw);
        await listener.ExpectAsync("<t> ab\uFFFD\uFFFDc[31mdé\tz\uFFFD");
    }

    [Fact]
    public async Task ClientThatNeverReadsIsCutBySoftLimitWhileTwentyOthersGetEveryLine()
    {
        const int softSeconds = 2, readers = 20, lines = 6000, lineBytes = 2000, window = 200;
        await using var ferryd = await FerrydProcess.StartAsync(1,
            "--listen", $"127.0.0.1:0=chat,softLimit=64k,hardLimit=256m,softSeconds={softSeconds}");
        int port = ferryd.Port("chat");

        var stalled = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        using var stalledOwner = stalled;
        await stalled.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port), Token);

        var clients = new List<LineClient>();
        try
        {
            for (int i = 0; i < readers; i++)
            {
                var client = await LineClient.ConnectAsync(port);
                clients.Add(client);
                await client.ExpectAsync(l => l.StartsWith("* you are", StringComparison.Ordinal), "welcome");
            }
            using var sender = await LineClient.ConnectAsync(port);
            await sender.SendLineAsync("/nick sender");
            await sender.ExpectAsync("* you are now sender");

            var received = new long[readers];
            var reading = clients.Select((client, i) => Task.Run(async () =>
            {
                int expected = 0;
                while (expected < lines)
                {
                    string? line = await client.ReadLineAsync(TimeSpan.FromSeconds(60));
                    Assert.NotNull(line);
                    if (!line.StartsWith("<sender> ", StringComparison.Ordinal))
                        continue;
                    Assert.StartsWith($"<sender> {expected:D6} ", line);
                    Assert.Equal(lineBytes, line.Length - "<sender> ".Length);
                    expected++;
                    Interlocked.Exchange(ref received[i], expected);
                }
            }, Token)).ToArray();

            // Paced like a real talker: never more than a window ahead of the slowest reader, so
            // only the client that does not read at all can fall behind.
            for (int sent = 0; sent < lines;)
            {
                var batch = new StringBuilder();
                for (int n = 0; n < window && sent < lines; n++, sent++)
                    batch.Append($"{sent:D6} ").Append('m', lineBytes - 7).Append('\n');
                await sender.SendAsync(batch.ToString());
                int target = sent;
                await ServiceProtocolTests.WaitForAsync(
                    () => Enumerable.Range(0, readers).All(i => Interlocked.Read(ref received[i]) >= target - window) || reading.Any(t => t.IsFaulted),
                    () => $"readers fell behind: {string.Join(",", received)}");
                if (reading.FirstOrDefault(t => t.IsFaulted) is { } failed)
                    await failed;
            }
            await Task.WhenAll(reading).WaitAsync(TimeSpan.FromSeconds(60), Token);

            // The stalled client was cut off by the soft limit (the hard limit is far away)...
            // Wait for its close line, which follows the cut-off warning: our reader of ferryd's
            // stderr may lag behind ferryd.
            await ServiceProtocolTests.WaitForAsync(
                () => ferryd.Process.StandardError.Contains(": slow consumer,"),
                () => "no slow-consumer cut in ferryd's log: " + ferryd.Process.StandardError);
            string log = ferryd.Process.StandardError;
            Assert.Contains($"over the soft limit of 65536 bytes for {softSeconds} s", log);
            Assert.Single(log.Split('\n'), l => l.Contains(": slow consumer,"));
            // ...and its connection is really gone, and says it was cut: reading what it was sent
            // ends in a reset, not the end of stream an ordinary close gives.
            Assert.Equal("reset", await ReadUntilClosedAsync(stalled));
        }
        finally
        {
            foreach (var client in clients)
                client.Dispose();
        }
    }

    /// <summary>"eof" when the peer closed the connection, "reset" when it reset it; "open" if it is still open after 30 s.</summary>
    internal static async Task<string> ReadUntilClosedAsync(Socket socket)
    {
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0)
            {
            }
            return "eof";
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return "reset";
        }
        catch (OperationCanceledException)
        {
            return "open";
        }
    }

    [Fact]
    public async Task MemoryStaysBoundedWhileOneClientFloods()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=chat");
        int port = ferryd.Port("chat");
        var members = new List<Socket>();
        try
        {
            // Five members who never read, five who read everything as fast as they can.
            for (int i = 0; i < 10; i++)
            {
                var member = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                await member.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port), Token);
                members.Add(member);
            }
            using var draining = new CancellationTokenSource();
            var readers = members.Skip(5).Select(m => Task.Run(async () =>
            {
                var buffer = new byte[65536];
                try
                {
                    while (await m.ReceiveAsync(buffer, SocketFlags.None, draining.Token) > 0)
                    {
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException)
                {
                }
            }, Token)).ToList();

            using var flooder = await Loopback.ConnectAsync(port);
            byte[] chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(new string('f', 999) + "\n", 64)));
            long before = 0;
            long peak = 0;
            long sent = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (sent < 400L * 1024 * 1024 && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Loopback.SendAllAsync(flooder, chunk);
                sent += chunk.Length;
                if (before == 0 && sent >= 16L * 1024 * 1024)
                    before = ProcessMemory.ResidentBytes(ferryd.Process.Pid);
                if (sent % (4 * 1024 * 1024) < chunk.Length)
                    peak = Math.Max(peak, ProcessMemory.ResidentBytes(ferryd.Process.Pid));
            }
            peak = Math.Max(peak, ProcessMemory.ResidentBytes(ferryd.Process.Pid));
            draining.Cancel();
            await Task.WhenAll(readers);

            Assert.True(before > 0, $"the flood only reached {sent} bytes");
            Assert.True(peak - before < 160L * 1024 * 1024,
                $"ferryd grew from {before >> 20} MiB to {peak >> 20} MiB while one client sent {sent >> 20} MiB");
            Assert.False(ferryd.Process.HasExited);
            // The members that never read were cut off, by the hard limit or the soft one.
            await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("slow consumer"),
                () => "no slow consumer was cut: " + ferryd.Process.StandardError);
        }
        finally
        {
            foreach (var member in members)
                member.Dispose();
        }
    }

    [Fact]
    public async Task ListenersOnOnePortWithDifferentAddressesAreOneChat()
    {
        // As one listener on localhost:P (127.0.0.1 and ::1) is one chat, so are two written apart.
        int port = Loopback.FreePort();
        await using var ferryd = await FerrydProcess.StartAsync(2, "--listen", $"127.0.0.1:{port}=chat", "--listen", $"127.0.0.2:{port}=chat");
        using var first = await LineClient.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port));
        using var second = await LineClient.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.0.0.2"), port));
        await first.ExpectAsync(l => l.StartsWith("* you are", StringComparison.Ordinal), "welcome");
        await second.ExpectAsync(l => l.StartsWith("* you are", StringComparison.Ordinal), "welcome");
        await first.SendLineAsync("/nick one");
        await first.ExpectAsync("* you are now one");
        await first.SendLineAsync("hello across addresses");
        await second.ExpectAsync("<one> hello across addresses");
    }
}
