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
