using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Ferry.Client.Bench;

/// <summary>The socket operations every benchmark loop shares.</summary>
internal static class BenchSocket
{
    public static async Task<Socket> ConnectAsync(IPEndPoint target, CancellationToken cancellationToken)
    {
        var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(target, cancellationToken);
            // Small messages must leave at once; Nagle would turn ping-pong into a timer test.
            socket.NoDelay = true;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // Pooled builders: these run once per message and usually complete asynchronously; the
    // default ValueTask builder would box a fresh state machine each time.

    /// <summary>Sends all of <paramref name="data"/>; the socket's awaitable and the pooled builder allocate nothing.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
            data = data[sent..];
        }
    }

    /// <summary>
    /// Receives exactly <paramref name="length"/> echoed bytes into <paramref name="buffer"/>,
    /// checking each piece against the pattern as it arrives. Returns the number of corrupt
    /// bytes, or -1 when the server closed the connection first.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<int> ReceiveEchoAsync(
        Socket socket, byte[] buffer, int length, PayloadPattern pattern, int seed, long streamOffset,
        CancellationToken cancellationToken)
    {
        int received = 0;
        int corrupt = 0;
        while (received < length)
        {
            int wanted = Math.Min(length - received, buffer.Length);
            int n = await socket.ReceiveAsync(buffer.AsMemory(0, wanted), SocketFlags.None, cancellationToken);
            if (n == 0)
                return -1;
            corrupt += pattern.CountMismatches(seed, streamOffset + received, buffer.AsSpan(0, n));
            received += n;
        }
        return corrupt;
    }

    public static string Describe(SocketException exception) => Net.SocketErrorText.Describe(exception);
}
