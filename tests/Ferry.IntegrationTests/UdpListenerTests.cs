using System.Net;
using System.Net.Sockets;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// udp: listeners: the RFC services over datagrams with nc and socat, boundaries kept, and the
/// rules that keep them from being weapons (no reply larger than its request, loop ports,
/// per-source rate with one summary line, amplifiers refused beyond loopback).
/// </summary>
public sealed class UdpListenerTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(700);

    [Fact]
    public async Task EchoAnswersNcAndSocatDatagrams()
    {
        string nc = ExternalTool.Require("nc");
        string socat = ExternalTool.Require("socat");
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "udp:127.0.0.1:0=echo");
        string port = ferryd.UdpPort().ToString();

        var fromNc = await ToolRun.RunAsync(nc, ["-u", "-w", "1", "127.0.0.1", port], "hello over nc\n"u8.ToArray(), TimeSpan.FromSeconds(20));
        var fromSocat = await ToolRun.RunAsync(socat, ["-T", "1", "-", $"UDP:127.0.0.1:{port}"], "hello over socat\n"u8.ToArray(), TimeSpan.FromSeconds(20));

        Assert.Equal("hello over nc\n", fromNc.StdoutText);
        Assert.Equal("hello over socat\n", fromSocat.StdoutText);
    }

    [Fact]
    public async Task HundredDatagramsOfDistinctSizesComeBackWithTheirSizesAndBytes()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "udp:127.0.0.1:0=echo");
        using var client = Connected(ferryd.UdpPort());
        var random = new Random(17);
        var sent = new List<byte[]>();
        for (int i = 0; i < 100; i++)
        {
            var datagram = new byte[1 + i * 613];   // 1 B to 60 KiB, each size once
            random.NextBytes(datagram);
            sent.Add(datagram);
            await client.SendAsync(datagram, TestContext.Current.CancellationToken);
            // One at a time: a burst of 60 KiB datagrams could overflow a receive buffer, and UDP drops.
            var reply = await ReceiveAsync(client, TimeSpan.FromSeconds(5));
            Assert.NotNull(reply);
            Assert.Equal(datagram.Length, reply.Length);
            Assert.True(datagram.AsSpan().SequenceEqual(reply), $"datagram {i} came back changed");
        }
    }

    [Theory]
    [InlineData("echo")]
    [InlineData("daytime")]
    [InlineData("chargen")]
    [InlineData("discard")]
    public async Task AOneByteProbeNeverGetsMoreThanOneByteBack(string service)
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"udp:127.0.0.1:0={service}");
        using var client = Connected(ferryd.UdpPort(service));
        var replies = new List<byte[]>();
        for (int i = 0; i < 20; i++)
        {
            await client.SendAsync("?"u8.ToArray(), TestContext.Current.CancellationToken);
            while (await ReceiveAsync(client, TimeSpan.FromMilliseconds(100)) is { } reply)
                replies.Add(reply);
        }
        while (await ReceiveAsync(client, Quiet) is { } late)
            replies.Add(late);

        Assert.All(replies, reply => Assert.True(reply.Length <= 1, $"{service} answered 1 byte with {reply.Length}"));
        // chargen may draw 0 or 1 characters, which a 1-byte request may get; daytime never fits.
        if (service != "chargen")
            Assert.Equal(service == "echo" ? 20 : 0, replies.Count);
    }

    [Fact]
    public async Task DaytimeAndChargenAnswerAnyDatagramWithAmplifyOn()
    {
        await using var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", "udp:127.0.0.1:0=daytime,amplify=on", "--listen", "udp:127.0.0.1:0=chargen,amplify=on");
        using var daytime = Connected(ferryd.UdpPort("daytime"));
        using var chargen = Connected(ferryd.UdpPort("chargen"));

        await daytime.SendAsync("?"u8.ToArray(), TestContext.Current.CancellationToken);
        var time = await ReceiveAsync(daytime, TimeSpan.FromSeconds(5));
        var lengths = new List<int>();
        for (int i = 0; i < 30; i++)
        {
            await chargen.SendAsync("?"u8.ToArray(), TestContext.Current.CancellationToken);
            var characters = await ReceiveAsync(chargen, TimeSpan.FromSeconds(5));
            Assert.NotNull(characters);
            Assert.All(characters, b => Assert.True(b is >= (byte)' ' and <= (byte)'~' or (byte)'\r' or (byte)'\n', $"not the pattern: {b}"));
            lengths.Add(characters.Length);
        }

        Assert.NotNull(time);
        Assert.Matches(@"^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2}\r\n$", Encoding.ASCII.GetString(time));
        Assert.All(lengths, length => Assert.InRange(length, 0, 512));
        Assert.True(lengths.Distinct().Count() > 1, "chargen's lengths are not random: " + string.Join(",", lengths));
    }

    [Fact]
    public async Task ADatagramFromSourcePort19IsDroppedAndCounted()
    {
        await using var ferryd = await FerrydProcess.StartAsync(2, "--listen", "udp:127.0.0.1:0=echo", "--metrics", "0");
        int port = ferryd.UdpPort();
        using var chargenPort = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        chargenPort.Bind(new IPEndPoint(IPAddress.Loopback, 19));   // tests run as root, as CI does
        chargenPort.Connect(IPAddress.Loopback, port);
        using var ordinary = Connected(port);

        await chargenPort.SendAsync("loop?"u8.ToArray(), TestContext.Current.CancellationToken);
        await ordinary.SendAsync("fine"u8.ToArray(), TestContext.Current.CancellationToken);

        Assert.NotNull(await ReceiveAsync(ordinary, TimeSpan.FromSeconds(5)));
        Assert.Null(await ReceiveAsync(chargenPort, Quiet));
        var scrape = await Scrape.GetAsync(ferryd.Port("metrics"));
        var listener = ("listener", $"echo-udp-{port}");
        Assert.Equal(1, scrape.Value("ferry_datagrams_dropped_total", listener, ("reason", "loopPort")));
        Assert.Equal(2, scrape.Value("ferry_datagrams_received_total", listener, ("service", "echo")));
        Assert.Equal(1, scrape.Value("ferry_datagrams_answered_total", listener, ("service", "echo")));
    }

    [Fact]
    public async Task DatagramsPastTheRateAreDroppedWithOneSummaryLine()
    {
        // exempt=none: loopback, exempt by default like TCP's, is held to the rate here.
        await using var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", "udp:127.0.0.1:0=echo,rate=100,burst=100,exempt=none", "--metrics", "0");
        int port = ferryd.UdpPort();
        using var client = Connected(port);
        client.ReceiveBufferSize = 4 * 1024 * 1024;
        var started = DateTime.UtcNow;
        for (int i = 0; i < 10_000; i++)
        {
            await client.SendAsync("flood"u8.ToArray(), TestContext.Current.CancellationToken);
            if (i % 100 == 99)
                await Task.Delay(2, TestContext.Current.CancellationToken);   // paced, so the kernel drops none before ferryd sees them
        }
        double seconds = (DateTime.UtcNow - started).TotalSeconds;
        int echoes = 0;
        while (await ReceiveAsync(client, Quiet) is not null)
            echoes++;

        var listener = ("listener", $"echo-udp-{port}");
        var scrape = await Scrape.GetAsync(ferryd.Port("metrics"));
        double received = scrape.Value("ferry_datagrams_received_total", listener, ("service", "echo"));
        double answered = scrape.Value("ferry_datagrams_answered_total", listener, ("service", "echo"));
        double dropped = scrape.Value("ferry_datagrams_dropped_total", listener, ("reason", "rateExceeded"));
        Assert.Equal(10_000, received);
        Assert.Equal(received, answered + dropped);
        Assert.Equal(answered, echoes);
        Assert.InRange(answered, 100, 100 + 100 * (seconds + 1));

        // Quiet for 2 s ends the episode: one line for the lot, never one per datagram.
        string line = await ferryd.Process.ReadStderrLineAsync(TimeSpan.FromSeconds(15));
        while (!line.Contains("dropped", StringComparison.Ordinal))
            line = await ferryd.Process.ReadStderrLineAsync(TimeSpan.FromSeconds(15));
        Assert.Contains($"echo udp:127.0.0.1:{port}: dropped {((long)dropped).ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} datagram(s)", line);
        Assert.Contains("over the source's rate; last from 127.0.0.1", line);
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);
        Assert.DoesNotContain(await RemainingStderrAsync(ferryd.Process), later => later.Contains("dropped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OnEveryAddressTheReplyLeavesFromTheAddressTheClientWroteTo()
    {
        // A connected UDP socket takes datagrams from the address it connected to only, as a
        // resolver does: a reply from 127.0.0.1 to a request sent to 127.0.0.2 would be lost.
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "udp:0=echo");
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Connect(IPAddress.Parse("127.0.0.2"), ferryd.UdpPort());

        await client.SendAsync("to the second address"u8.ToArray(), TestContext.Current.CancellationToken);

        var reply = await ReceiveAsync(client, TimeSpan.FromSeconds(5));
        Assert.NotNull(reply);
        Assert.Equal("to the second address", Encoding.ASCII.GetString(reply));
    }

    [Fact]
    public async Task DenyDropsDatagramsOfThatSource()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "udp:127.0.0.1:0=echo,deny=127.0.0.1");
        using var client = Connected(ferryd.UdpPort());

        await client.SendAsync("let me in"u8.ToArray(), TestContext.Current.CancellationToken);

        Assert.Null(await ReceiveAsync(client, Quiet));
    }

    [Theory]
    [InlineData("chargen")]
    [InlineData("daytime")]
    public async Task AnAmplifierIsRefusedAtStartBeyondLoopbackWithoutAmplifyOn(string service)
    {
        var refused = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", $"udp:127.0.0.1:0={service},allow=0.0.0.0/0"], timeout: TimeSpan.FromSeconds(30));

        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"allow=0.0.0.0/0: {service} over udp answers more than it is sent", refused.Stderr);
        Assert.Contains("needs amplify=on", refused.Stderr);
        Assert.DoesNotContain("   at ", refused.Stderr);

        await using var allowed = await FerrydProcess.StartAsync(1, "--listen", $"udp:127.0.0.1:0={service},allow=0.0.0.0/0,amplify=on");
        Assert.Equal(service, allowed.Listeners[0].Service);
    }

    [Theory]
    [InlineData("udp:127.0.0.1:0=chat", "service 'chat' does not serve udp:")]
    [InlineData("udp:127.0.0.1:0=echo,maxConnections=5", "maxConnections=5: not for a udp listener")]
    [InlineData("udp:127.0.0.1:0=echo,tls=on", "tls=on: not for a udp listener")]
    [InlineData("127.0.0.1:0=echo,rate=5", "rate=5: not for a tcp listener")]
    [InlineData("udp:127.0.0.1:0=forward,to=127.0.0.1:9,sendProxy=v1", "unknown option 'sendProxy' for forward (known: to, balance, sessionTimeout, maxSessions)")]
    public async Task WhatUdpCannotDoIsAUsageError(string listen, string message)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", listen], timeout: TimeSpan.FromSeconds(30));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
    }

    [Fact]
    public async Task ABusyUdpPortIsExitFour()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)holder.LocalEndPoint!).Port;

        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", $"udp:127.0.0.1:{port}=echo"], timeout: TimeSpan.FromSeconds(30));

        Assert.Equal(4, result.ExitCode);
        Assert.Contains($"cannot listen on udp:127.0.0.1:{port} (echo): address already in use", result.Stderr);
    }

    private static Socket Connected(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(IPAddress.Loopback, port);
        return socket;
    }

    /// <summary>The next datagram, or null if none comes within <paramref name="timeout"/>.</summary>
    private static async Task<byte[]?> ReceiveAsync(Socket socket, TimeSpan timeout)
    {
        var buffer = new byte[65_536];
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            int length = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            return buffer[..length];
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static async Task<List<string>> RemainingStderrAsync(RunningProcess process)
    {
        var lines = new List<string>();
        try
        {
            while (true)
                lines.Add(await process.ReadStderrLineAsync(TimeSpan.FromMilliseconds(200)));
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            return lines;
        }
    }
}
