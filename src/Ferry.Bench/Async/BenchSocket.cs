using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Ferry.Client;
using Ferry.Client.Net;

namespace Ferry.Bench.Async;

/// <summary>The async socket operations the async engine, chat and idle modes share.</summary>
internal static class BenchSocket
{
    // Enough parallel connects to open thousands in a second without overrunning a listen
    // backlog of 128.
    private const int ConnectConcurrency = 32;

    /// <summary>A TCP connection to an <see cref="IPEndPoint"/>, or a Unix stream socket's to a <see cref="UnixDomainSocketEndPoint"/>.</summary>
    public static async Task<Socket> ConnectAsync(EndPoint target, CancellationToken cancellationToken)
    {
        bool unix = target is UnixDomainSocketEndPoint;
        var socket = unix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(target, cancellationToken);
            // Small messages must leave at once; Nagle would turn ping-pong into a timer test.
            if (!unix)
                socket.NoDelay = true;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A connection the run cannot do without: a failure ends the run with one line.</summary>
    public static async Task<Socket> ConnectOrFailAsync(BenchSettings settings, CancellationToken cancellationToken, int index = 0)
    {
        try
        {
            return await ConnectAsync(settings.TargetOf(index), cancellationToken);
        }
        catch (SocketException exception)
        {
            throw settings.ConnectFailed(Describe(exception));
        }
    }

    /// <summary>All of the run's connections, opened before the clock starts; any failure ends the run.</summary>
    public static async Task<Socket[]> ConnectAllAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        var sockets = new Socket?[settings.Connections];
        try
        {
            await ForEachConcurrentlyAsync(sockets.Length,
                async index => sockets[index] = await ConnectOrFailAsync(settings, cancellationToken, index), cancellationToken);
            return sockets.Select(socket => socket!).ToArray();
        }
        catch
        {
            foreach (Socket? socket in sockets)
                socket?.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="open"/> for indexes 0 to <paramref name="count"/>-1, a few connects at a time.</summary>
    public static Task ForEachConcurrentlyAsync(int count, Func<int, Task> open, CancellationToken cancellationToken)
    {
        int next = -1;
        return Task.WhenAll(Enumerable.Range(0, Math.Min(ConnectConcurrency, count)).Select(_ => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < count)
                await open(index);
        }, cancellationToken)));
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
    /// One message and its echo: sends <paramref name="length"/> bytes of the stream of
    /// <paramref name="seed"/> from <paramref name="streamOffset"/> and receives and checks
    /// their echo (see <see cref="ReceiveEchoAsync"/>).
    /// </summary>
    public static async ValueTask<int> ExchangeAsync(
        Socket socket, byte[] buffer, int length, PayloadPattern pattern, int seed, long streamOffset,
        CancellationToken cancellationToken)
    {
        await SendAllAsync(socket, pattern.Slice(seed, streamOffset, length), cancellationToken);
        return await ReceiveEchoAsync(socket, buffer, length, pattern, seed, streamOffset, cancellationToken);
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

    public static string Describe(SocketException exception) => SocketErrorText.Describe(exception);
}
