using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Ferry.Daemon.Transport;

namespace Ferry.Tests;

/// <summary>What the transport tests share: a real loopback pair, a pool that counts, bounded waits.</summary>
internal static class TransportTestKit
{
    public static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Every wait is bounded, so a transport bug fails a test instead of hanging the run.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// For what the transport's own threads settle on after the service has seen the data:
    /// polled, bounded, never a measure of how fast.
    /// </summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                return false;
            await Task.Delay(10, Token);
        }
        return true;
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Says where two byte arrays first differ, instead of printing megabytes.</summary>
    public static void AssertSameBytes(byte[] expected, byte[] actual)
    {
        int common = Math.Min(expected.Length, actual.Length);
        int firstDifference = expected.AsSpan(0, common).CommonPrefixLength(actual.AsSpan(0, common));
        Assert.True(firstDifference == common, $"byte {firstDifference} differs");
        Assert.True(expected.Length == actual.Length, $"expected {expected.Length} bytes, got {actual.Length}");
    }

    /// <summary>
    /// The byte at <paramref name="position"/> of a stream that says where in it each byte
    /// belongs, so that loss, duplication and reordering all show.
    /// </summary>
    public static byte PatternAt(long position) => (byte)(position % 251);

    public static void FillPattern(Span<byte> span, long position)
    {
        for (int i = 0; i < span.Length; i++)
            span[i] = PatternAt(position + i);
    }

    /// <summary>
    /// Sends the pattern from a non-blocking <paramref name="client"/> until the socket stays full
    /// for half a second (stalled: nobody moves the bytes on), or <paramref name="cap"/> bytes went
    /// out; returns how many were sent.
    /// </summary>
    public static long SendPatternUntilStalled(Socket client, long cap)
    {
        byte[] pattern = new byte[64 * 1024 + 251];
        FillPattern(pattern, 0);
        long sent = 0;
        while (sent < cap)
        {
            int n = client.Send(pattern, (int)(sent % 251), 64 * 1024, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
                sent += n;
            else if (error != SocketError.WouldBlock)
                Assert.Fail($"send failed: {error}");
            // Full for now; stalled for good only if it stays full while the other side has time to drain it.
            else if (!client.Poll(TimeSpan.FromMilliseconds(500), SelectMode.SelectWrite))
                break;
        }
        return sent;
    }

    /// <summary>Receives <paramref name="count"/> bytes and checks each against the pattern from <paramref name="position"/>.</summary>
    public static async Task ReceivePatternAsync(Socket socket, long position, long count)
    {
        var buffer = new byte[64 * 1024];
        long end = position + count;
        while (position < end)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, end - position)), SocketFlags.None, Token);
            if (n == 0)
                throw new EndOfStreamException($"the connection ended at byte {position} of {end}");
            for (int i = 0; i < n; i++, position++)
                if (buffer[i] != PatternAt(position))
                    Assert.Fail($"byte {position} of the stream is wrong");
        }
    }

    public static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count)
    {
        var received = new byte[count];
        for (int total = 0; total < count;)
        {
            int n = await socket.ReceiveAsync(received.AsMemory(total), SocketFlags.None, Token).AsTask().WaitAsync(Timeout, Token);
            if (n == 0)
                throw new EndOfStreamException($"the connection ended after {total} of {count} bytes");
            total += n;
        }
        return received;
    }
}

/// <summary>A client socket and the SocketConnection over the socket the server accepted from it.</summary>
internal sealed class LoopbackPair : IAsyncDisposable
{
    private LoopbackPair(Socket client, SocketConnection connection)
    {
        Client = client;
        Connection = connection;
    }

    public Socket Client { get; }

    public SocketConnection Connection { get; }

    public PipeReader Input => Connection.Transport.Input;

    public PipeWriter Output => Connection.Transport.Output;

    public static async Task<LoopbackPair> OpenAsync(MemoryPool<byte> pool)
    {
        var token = TransportTestKit.Token;
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await client.ConnectAsync(listener.LocalEndPoint!, token).AsTask().WaitAsync(TransportTestKit.Timeout, token);
            Socket accepted = await listener.AcceptAsync(token).AsTask().WaitAsync(TransportTestKit.Timeout, token);
            var connection = new SocketConnection(accepted, EpollLoop.Next(), pool, PipeScheduler.ThreadPool);
            connection.Start();
            return new LoopbackPair(client, connection);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // The client's FIN first: the connection's close need not linger for it.
            try
            {
                Client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Closed (or reset) by the test already.
            }
            await Connection.DisposeAsync().AsTask().WaitAsync(TransportTestKit.Timeout);
        }
        finally
        {
            // Also what unblocks a drain stuck on a client that stopped reading.
            Client.Dispose();
        }
    }
}

/// <summary>Counts the blocks handed out and not yet given back: what the connection holds.</summary>
internal sealed class CountingPool(MemoryPool<byte> blocks) : MemoryPool<byte>
{
    private int _outstanding;

    public int Outstanding => Volatile.Read(ref _outstanding);

    public override int MaxBufferSize => blocks.MaxBufferSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        IMemoryOwner<byte> block = blocks.Rent(minBufferSize);
        Interlocked.Increment(ref _outstanding);
        return new CountedBlock(this, block);
    }

    protected override void Dispose(bool disposing) => blocks.Dispose();

    private sealed class CountedBlock(CountingPool pool, IMemoryOwner<byte> block) : IMemoryOwner<byte>
    {
        private int _returned;

        public Memory<byte> Memory => block.Memory;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 1)
                return;
            Interlocked.Decrement(ref pool._outstanding);
            block.Dispose();
        }
    }
}
