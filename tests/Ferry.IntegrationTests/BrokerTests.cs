using System.Net.Sockets;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>The broker service of a real ferryd: raw bytes relayed between all clients.</summary>
public sealed class BrokerTests
{
    [Fact]
    public async Task EveryByteFromOneReachesTheOtherNineExactlyOnceInOrder()
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=broker", "--shutdown-timeout", "2");
        int port = ferryd.Port("broker");
        var receivers = new List<Socket>();
        try
        {
            // Connected one by one, each after the first saying one byte that all earlier ones must
            // get: a client is only relayed to once the broker serves it, and a relayed byte proves
            // its sender is served (the broker joins a client before it reads from it).
            for (int i = 0; i < 9; i++)
            {
                var receiver = await Loopback.ConnectAsync(port);
                receivers.Add(receiver);
                if (i == 0)
                    continue;
                if (i == 1)
                {
                    await SayUntilHeardAsync(receiver, receivers[0], 1);
                    continue;
                }
                await Loopback.SendAllAsync(receiver, new[] { (byte)i });
                foreach (var earlier in receivers.Take(i))
                    Assert.Equal([(byte)i], await Loopback.ReceiveAsync(earlier, 1, TimeSpan.FromSeconds(10)));
            }

            var payload = new byte[2 * 1024 * 1024];
            new Random(42).NextBytes(payload);
            var receiving = receivers.Select(r => Loopback.ReceiveAsync(r, payload.Length, TimeSpan.FromSeconds(60))).ToArray();
            var sender = await ToolRun.RunAsync(nc, ["-N", "127.0.0.1", port.ToString()], payload);
            Assert.Equal(0, sender.ExitCode);
            Assert.Empty(sender.Stdout);

            foreach (var received in await Task.WhenAll(receiving))
                Assert.True(payload.SequenceEqual(received), $"a receiver got {received.Length} bytes, not the payload");

            // Exactly once: nothing more arrives before the broker closes everyone at shutdown.
            ferryd.Process.Signal(Signals.SigTerm);
            foreach (var receiver in receivers)
                Assert.Empty(await Loopback.ReceiveToEndAsync(receiver, TimeSpan.FromSeconds(15)));
            Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        }
        finally
        {
            foreach (var receiver in receivers)
                receiver.Dispose();
        }
    }

    /// <summary>
    /// Repeats one byte from <paramref name="speaker"/> until <paramref name="listener"/> hears
    /// it, then drains the extra copies: proves both are served when nothing else does yet
    /// (a byte said before the listener joined is, rightly, relayed to no one).
    /// </summary>
    internal static async Task SayUntilHeardAsync(Socket speaker, Socket listener, byte said)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            await Loopback.SendAllAsync(speaker, new[] { said });
            try
            {
                byte[] heard = await Loopback.ReceiveAsync(listener, 1, TimeSpan.FromMilliseconds(500));
                Assert.Equal(new[] { said }, heard);
                break;
            }
            catch (OperationCanceledException) when (DateTime.UtcNow < deadline)
            {
            }
        }
        while (true)
        {
            byte[] extra;
            try
            {
                extra = await Loopback.ReceiveAsync(listener, 1, TimeSpan.FromMilliseconds(300));
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Assert.Equal(new[] { said }, extra);
        }
    }

    [Fact]
    public async Task ClientThatNeverReadsIsCutWhileTheOthersKeepReceiving()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=broker,hardLimit=4m,softLimit=0");
        int port = ferryd.Port("broker");
        var stalled = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        using var stalledOwner = stalled;
        await stalled.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port), TestContext.Current.CancellationToken);
        using var reader = await Loopback.ConnectAsync(port);
        // Each is served by the broker before the flood: what one says, the other hears.
        await SayUntilHeardAsync(stalled, reader, (byte)'s');
        using var sender = await Loopback.ConnectAsync(port);
        await Loopback.SendAllAsync(sender, "x"u8.ToArray());
        Assert.Equal("x"u8.ToArray(), await Loopback.ReceiveAsync(reader, 1, TimeSpan.FromSeconds(10)));

        var payload = new byte[32 * 1024 * 1024];
        new Random(7).NextBytes(payload);
        // Sent a megabyte at a time, each read back before the next: the reader never falls behind,
        // so only the client that does not read at all can reach the limit.
        const int window = 1024 * 1024;
        for (int at = 0; at < payload.Length; at += window)
        {
            var receiving = Loopback.ReceiveAsync(reader, window, TimeSpan.FromSeconds(60));
            await Loopback.SendAllAsync(sender, payload.AsMemory(at, window));
            byte[] got = await receiving;
            Assert.True(payload.AsSpan(at, window).SequenceEqual(got), $"the reading client lost or reordered bytes at {at}");
        }
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("over the hard limit of 4194304"),
            () => "the stalled client was not cut: " + ferryd.Process.StandardError);
        // The cut client can tell it was cut: its stream ends in a reset, not an ordinary end.
        Assert.Equal("reset", await ChatTests.ReadUntilClosedAsync(stalled));
    }

    [Fact]
    public async Task ABulkPushReachesEveryReaderThatReadsWhileAStalledOneIsCut()
    {
        // ncat --broker delivers all of it; a sender that is never slowed would fill the reader's
        // 1 MiB queue faster than loopback drains it and get a healthy reader cut.
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=broker,hardLimit=1m");
        int port = ferryd.Port("broker");
        using var reader = await Loopback.ConnectAsync(port);
        using var sender = await Loopback.ConnectAsync(port);
        await SayUntilHeardAsync(sender, reader, (byte)'r');
        var stalled = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        using var stalledOwner = stalled;
        await stalled.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port), TestContext.Current.CancellationToken);
        await SayUntilHeardAsync(stalled, reader, (byte)'s'); // the stalled one is a member before the push

        var payload = new byte[12 * 1024 * 1024];
        new Random(12).NextBytes(payload);
        var receiving = Loopback.ReceiveAsync(reader, payload.Length, TimeSpan.FromSeconds(60));
        byte[] got;
        try
        {
            await Loopback.SendAllAsync(sender, payload);
            got = await receiving;
        }
        catch (SocketException e)
        {
            throw new Xunit.Sdk.XunitException($"the reader's stream broke ({e.Message}); ferryd: {ferryd.Process.StandardError}");
        }

        Assert.True(payload.Length == got.Length, $"the reader got {got.Length} of {payload.Length} bytes; ferryd: {ferryd.Process.StandardError}");
        Assert.True(payload.AsSpan().SequenceEqual(got), "the reader's bytes differ from what was sent");
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains(": slow consumer,"),
            () => "the stalled member was not cut: " + ferryd.Process.StandardError);
        Assert.Single(ferryd.Process.StandardError.Split('\n'), l => l.Contains(": slow consumer,"));
    }
}
