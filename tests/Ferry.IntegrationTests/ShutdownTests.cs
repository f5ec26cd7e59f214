using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>SIGTERM/SIGINT: stop accepting, finish in-flight echoes, close, exit 0 by the deadline.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task SigtermWithClientsConnectedExitsZeroAndClosesThem()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync("--shutdown-timeout", "5");
        var clients = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Loopback.ConnectAsync(ferryd.Port())));
        try
        {
            // Each client has a completed echo behind it, so all connections are really open.
            foreach (var client in clients)
            {
                await Loopback.SendAllAsync(client, "ping\n"u8.ToArray());
                Assert.Equal("ping\n"u8.ToArray(), await Loopback.ReceiveAsync(client, 5, TimeSpan.FromSeconds(10)));
            }

            var clock = Stopwatch.StartNew();
            ferryd.Process.Signal(Signals.SigTerm);
            int exit = await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(15));

            Assert.Equal(0, exit);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5 + 5), $"exit took {clock.Elapsed}");
            foreach (var client in clients)
                Assert.Empty(await Loopback.ReceiveToEndAsync(client, TimeSpan.FromSeconds(10)));
            Assert.Contains("stopping: no new connections, 10 open", ferryd.Process.StandardError);
        }
        finally
        {
            foreach (var client in clients)
                client.Dispose();
        }
    }

    [Fact]
    public async Task InFlightEchoIsDeliveredBeforeTheConnectionCloses()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();
        using var client = await Loopback.ConnectAsync(ferryd.Port());
        byte[] message = Encoding.ASCII.GetBytes(new string('x', 100_000) + "\n");
        await Loopback.SendAllAsync(client, message);
        byte[] first = await Loopback.ReceiveAsync(client, 1, TimeSpan.FromSeconds(10));

        ferryd.Process.Signal(Signals.SigTerm);
        byte[] rest = await Loopback.ReceiveToEndAsync(client, TimeSpan.FromSeconds(15));

        Assert.Equal(message, first.Concat(rest).ToArray());
        Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task WhatClientsSentBeforeSigtermIsEchoedThenTheEndIsClean()
    {
        // Twenty clients stream without reading, so ferryd's echoes back up and what they send
        // waits in ferryd's socket when SIGTERM comes. Each client must still get back everything
        // ferryd had received (all it sent, less what was still on its way from its own send queue),
        // as an unbroken prefix, and then a clean end of stream: not a reset, which would also
        // destroy echoed bytes the client had not read yet.
        await using var ferryd = await FerrydProcess.StartEchoAsync("--shutdown-timeout", "20");
        var clients = new List<Socket>();
        var stop = new CancellationTokenSource();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096, SendBufferSize = 4096 };
                clients.Add(client);
                await client.ConnectAsync(System.Net.IPAddress.Loopback, ferryd.Port(), TestContext.Current.CancellationToken);
            }
            var streams = clients.Select((_, i) =>
            {
                var stream = new byte[16 * 1024 * 1024];
                new Random(i).NextBytes(stream);
                return stream;
            }).ToArray();
            long[] sent = new long[clients.Count];
            var sending = clients.Select((client, i) => Task.Run(async () =>
            {
                try
                {
                    while (sent[i] < streams[i].Length)
                        Interlocked.Add(ref sent[i], await client.SendAsync(streams[i].AsMemory((int)sent[i], 4096), SocketFlags.None, stop.Token));
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                }
            })).ToArray();
            // Until every client is stalled: its sends stopped moving.
            long[] before;
            do
            {
                before = sent.Select(n => Interlocked.Read(ref n)).ToArray();
                await Task.Delay(300, TestContext.Current.CancellationToken);
            }
            while (!before.SequenceEqual(sent.Select(n => Interlocked.Read(ref n))));

            ferryd.Process.Signal(Signals.SigTerm);
            await stop.CancelAsync(); // the clients stop sending and only read now
            var echoes = await Task.WhenAll(clients.Select(client => Loopback.ReceiveToEndAsync(client, TimeSpan.FromSeconds(30))));

            for (int i = 0; i < clients.Count; i++)
            {
                // What still sat in the client's own send queue may reach ferryd after its last read: that much may be missing.
                long received = before[i] - 64 * 1024 - clients[i].SendBufferSize;
                Assert.True(echoes[i].Length >= received, $"client {i}: sent {before[i]} bytes before SIGTERM, got {echoes[i].Length} back");
                Assert.True(streams[i].AsSpan(0, echoes[i].Length).SequenceEqual(echoes[i]), $"client {i}: the echo is not what it sent");
            }
            Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(15)));
            await Task.WhenAll(sending);
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var client in clients)
                client.Dispose();
            stop.Dispose();
        }
    }

    [Fact]
    public async Task StalledClientCannotHoldShutdownPastTheDeadline()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync("--shutdown-timeout", "1");
        using var stalled = await Loopback.ConnectAsync(ferryd.Port());
        stalled.ReceiveBufferSize = 4096;
        var chunk = new byte[64 * 1024];
        for (int i = 0; i < 200; i++)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                await stalled.SendAsync(chunk, SocketFlags.None, cts.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        var clock = Stopwatch.StartNew();
        ferryd.Process.Signal(Signals.SigTerm);
        int exit = await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(0, exit);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1 + 5), $"exit took {clock.Elapsed} with a 1 s deadline");
    }

    [Fact]
    public async Task NewConnectionsAreRefusedOnceStopped()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync();
        int port = ferryd.Port();
        ferryd.Process.Signal(Signals.SigInt);
        Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        var refused = await Assert.ThrowsAsync<SocketException>(() => Loopback.ConnectAsync(port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }
}
