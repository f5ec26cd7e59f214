using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Ferry.Platform.Linux;
using Ferry.Platform.Net;

namespace Ferry.Daemon.Transport;

/// <summary>A connect's outcome: the connection, or why there is none ("connection refused", "timed out after 5 s").</summary>
internal readonly record struct OutboundResult(SocketConnection? Connection, string? Failure);

/// <summary>
/// Connects to a peer from ferryd (forward's upstreams) without a thread waiting: the connect is
/// started non-blocking, the socket registered with an <see cref="EpollLoop"/> at once, and the
/// connection is ready when epoll says it is writable and SO_ERROR is 0. The result is an
/// ordinary <see cref="SocketConnection"/> on that loop, like an accepted one.
/// </summary>
internal static class OutboundConnect
{
    public static async ValueTask<OutboundResult> ConnectAsync(IPEndPoint to, EpollLoop loop, MemoryPool<byte> pool,
        PipeScheduler scheduler, TimeSpan timeout)
    {
        int fd = NonBlockingConnect.Start(SocketAddressBytes.Of(to), out int error, out bool connected);
        if (fd < 0)
            return new OutboundResult(null, SocketErrorText.DescribeErrno(error));
        var connection = new SocketConnection(new AcceptedPeer(fd, to, loop), pool, scheduler);
        try
        {
            connection.Start();
        }
        catch (IOException ex)
        {
            await connection.DisposeAsync();
            return new OutboundResult(null, ex.Message);
        }
        if (connected)
            return new OutboundResult(connection, null);

        bool timedOut = false;
        int pending;
        var timer = new Timer(_ =>
        {
            Volatile.Write(ref timedOut, true);
            connection.Close(new TimeoutException("connect timed out"));
        }, null, timeout, Timeout.InfiniteTimeSpan);
        do
        {
            // Writable (connected), an error or hang-up (failed), or closed by the timer.
            await connection.Writer.Writable.WaitAsync();
            pending = connection.IsClosed ? Errno.TimedOut : connection.PendingError();
        }
        while (pending is Errno.WouldBlock or Errno.InProgress);
        // Waits for a timer callback under way: after this, a connection still open stays open.
        await timer.DisposeAsync();
        if (pending == 0 && !Volatile.Read(ref timedOut))
            return new OutboundResult(connection, null);
        await connection.DisposeAsync();
        string failure = Volatile.Read(ref timedOut) ? $"timed out after {timeout.TotalSeconds:0.###} s" : SocketErrorText.DescribeErrno(pending);
        return new OutboundResult(null, failure);
    }
}
