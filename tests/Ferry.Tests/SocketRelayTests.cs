using System.Net.Sockets;
using Ferry.Daemon.Transport;
using Microsoft.AspNetCore.Connections;

using static Ferry.Tests.TransportTestKit;

namespace Ferry.Tests;

/// <summary>
/// <see cref="SocketRelay"/> over real loopback sockets: echo's relay of a socket to itself, and
/// forward's from one socket to another. The promises checked are the ones the class states:
/// every byte in order, a FIN passed on after the last byte, a slow reader stopping its writer
/// with at most one block held, resets and closes ending it with the right end, a stop that
/// passes on what arrived, and no block held while idle.
/// </summary>
public sealed class SocketRelayTests
{
    private static readonly TimeSpan Timeout = TransportTestKit.Timeout;

    [Fact]
    public async Task AnEchoRelayReturnsEveryByteInOrderAndEndsAtTheClientsFin()
    {
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());
        var relay = new SocketRelay(pair.Connection, pair.Connection).RunAsync(Token).AsTask();
        byte[] payload = RandomBytes(3 * 1024 * 1024, seed: 21);

        // Sent and read at once: neither side's buffers can hold 3 MiB.
        Task sending = pair.Client.SendAsync(payload, SocketFlags.None, Token).AsTask();
        byte[] echoed = await ReceiveExactlyAsync(pair.Client, payload.Length);
        await sending.WaitAsync(Timeout, Token);
        pair.Client.Shutdown(SocketShutdown.Send);

        Assert.Equal(DirectionEnd.Finished, await relay.WaitAsync(Timeout, Token));
        AssertSameBytes(payload, echoed);
        Assert.Equal(payload.Length, pair.Connection.BytesReceived);
        Assert.Equal(payload.Length, pair.Connection.BytesSent);
        Assert.True(pair.Connection.PeerFinished);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BytesAndTheFinGoOnToAnotherSocket(bool splice)
    {
        await using var from = await LoopbackPair.OpenAsync(new BlockPool());
        await using var to = await LoopbackPair.OpenAsync(new BlockPool());
        var relay = new SocketRelay(from.Connection, to.Connection, splice).RunAsync(Token).AsTask();
        byte[] payload = RandomBytes(1024 * 1024, seed: 22);

        Task sending = Task.Run(async () =>
        {
            await from.Client.SendAsync(payload, SocketFlags.None, Token);
            from.Client.Shutdown(SocketShutdown.Send);
        }, Token);
        byte[] arrived = await ReceiveExactlyAsync(to.Client, payload.Length);
        await sending.WaitAsync(Timeout, Token);

        AssertSameBytes(payload, arrived);
        Assert.Equal(DirectionEnd.Finished, await relay.WaitAsync(Timeout, Token));
        // Our FIN after the last byte: the destination's client reads the end of the stream.
        Assert.Equal(0, await to.Client.ReceiveAsync(new byte[1], SocketFlags.None, Token).AsTask().WaitAsync(Timeout, Token));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ADestinationThatDoesNotReadStopsTheSourceWithOneBlockHeldAtMost(bool splice)
    {
        const long Cap = 64L * 1024 * 1024;
        using var pool = new CountingPool(new BlockPool());
        await using var from = await LoopbackPair.OpenAsync(pool);
        await using var to = await LoopbackPair.OpenAsync(pool);
        var relay = new SocketRelay(from.Connection, to.Connection, splice).RunAsync(Token).AsTask();
        from.Client.Blocking = false;
        // The pattern shows loss, duplication and reordering across the stall.
        long sent = SendPatternUntilStalled(from.Client, Cap);

        Assert.True(sent < Cap, $"the client sent {Cap} bytes through a relay to a reader that reads nothing: nothing stopped it");
        Assert.True(pool.Outstanding <= 1, $"the stalled relay holds {pool.Outstanding} blocks");

        await ReceivePatternAsync(to.Client, 0, sent).WaitAsync(Timeout, Token);
        from.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal(DirectionEnd.Finished, await relay.WaitAsync(Timeout, Token));
        // Nothing more than was sent: the FIN comes right after the last byte.
        Assert.Equal(0, await to.Client.ReceiveAsync(new byte[1], SocketFlags.None, Token).AsTask().WaitAsync(Timeout, Token));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public async Task ASourceResetEndsItAsSourceReset()
    {
        await using var from = await LoopbackPair.OpenAsync(new BlockPool());
        await using var to = await LoopbackPair.OpenAsync(new BlockPool());
        var relay = new SocketRelay(from.Connection, to.Connection).RunAsync(Token).AsTask();

        from.Client.LingerState = new LingerOption(true, 0);
        from.Client.Close();

        Assert.Equal(DirectionEnd.SourceReset, await relay.WaitAsync(Timeout, Token));
    }

    [Fact]
    public async Task ADestinationResetEndsItAsDestinationGoneAndClosesTheDestination()
    {
        await using var from = await LoopbackPair.OpenAsync(new BlockPool());
        await using var to = await LoopbackPair.OpenAsync(new BlockPool());
        var relay = new SocketRelay(from.Connection, to.Connection).RunAsync(Token).AsTask();
        to.Client.LingerState = new LingerOption(true, 0);
        to.Client.Close();

        // Sent on until a send through the relay meets the reset.
        var message = new byte[4096];
        var deadline = DateTime.UtcNow + Timeout;
        while (!relay.IsCompleted && DateTime.UtcNow < deadline)
        {
            await from.Client.SendAsync(message, SocketFlags.None, Token);
            await Task.Delay(10, Token);
        }

        Assert.Equal(DirectionEnd.DestinationGone, await relay.WaitAsync(Timeout, Token));
        Assert.True(to.Connection.IsClosed);
        Assert.IsType<ConnectionResetException>(to.Connection.ClosedBecause);
    }

    [Fact]
    public async Task ClosingTheSourceWhileTheRelayWaitsEndsItAsAborted()
    {
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());
        var relay = new SocketRelay(pair.Connection, pair.Connection).RunAsync(Token).AsTask();
        Assert.False(relay.IsCompleted);

        pair.Connection.Abort(new ConnectionAbortedException("idle too long"));

        Assert.Equal(DirectionEnd.Aborted, await relay.WaitAsync(Timeout, Token));
    }

    [Fact]
    public async Task AStopEchoesWhatHasArrivedThenEndsItAsStopped()
    {
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());
        using var stopping = new CancellationTokenSource();
        // The relay is started before the bytes come, and waits for them.
        var relay = new SocketRelay(pair.Connection, pair.Connection).RunAsync(stopping.Token).AsTask();
        byte[] request = RandomBytes(1000, seed: 23);

        // On loopback a finished send is in the receiver's queue: it has arrived when the stop comes.
        await pair.Client.SendAsync(request, SocketFlags.None, Token);
        stopping.Cancel();

        Assert.Equal(DirectionEnd.Stopped, await relay.WaitAsync(Timeout, Token));
        AssertSameBytes(request, await ReceiveExactlyAsync(pair.Client, request.Length));
    }

    [Fact]
    public async Task AnIdleRelayHoldsNoBlock()
    {
        using var pool = new CountingPool(new BlockPool());
        await using var pair = await LoopbackPair.OpenAsync(pool);
        var relay = new SocketRelay(pair.Connection, pair.Connection).RunAsync(Token).AsTask();

        for (int i = 0; i < 50; i++)
        {
            byte[] message = RandomBytes(100 + i * 300, seed: 100 + i);
            await pair.Client.SendAsync(message, SocketFlags.None, Token);
            AssertSameBytes(message, await ReceiveExactlyAsync(pair.Client, message.Length));
        }

        Assert.Equal(0, pool.Outstanding);
        Assert.False(relay.IsCompleted);
        pair.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal(DirectionEnd.Finished, await relay.WaitAsync(Timeout, Token));
    }
}
