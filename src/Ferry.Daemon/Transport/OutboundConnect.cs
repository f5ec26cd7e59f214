using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Ferry.Platform.Linux;
using Ferry.Platform.Net;

namespace Ferry.Daemon.Transport;

/// <summary>
/// A connect's outcome: the connection, or why there is none ("connection refused", "timed out
/// after 5 s") with its errno (ETIMEDOUT for the deadline; 0 when the cause was not a system call's).
/// </summary>
internal readonly record struct OutboundResult(SocketConnection? Connection, string? Failure, int Errno = 0);

/// <summary>
/// Connects to a peer from ferryd (forward's upstreams) without a thread waiting: the connect is
/// started non-blocking, the socket registered with an <see cref="EpollLoop"/> at once, and the
/// connection is ready when epoll says it is writable and SO_ERROR is 0. The result is an
/// ordinary <see cref="SocketConnection"/> on that loop, like an accepted one.
/// </summary>
internal static class OutboundConnect
{
    /// <param name="address">The <c>sockaddr</c> bytes of <paramref name="to"/> (<see cref="SocketAddressBytes.Of"/>), made once per upstream.</param>
    public static async ValueTask<OutboundResult> ConnectAsync(IPEndPoint to, byte[] address, EpollLoop loop, MemoryPool<byte> pool,
        PipeScheduler scheduler, TimeSpan timeout)
    {
        int fd = NonBlockingConnect.Start(address, out int error, out bool connected);
        if (fd < 0)
            return new OutboundResult(null, SocketErrorText.DescribeErrno(error), error);
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

        ConnectDeadlines.Add(connection, timeout);
        int pending;
        do
        {
            // Writable (connected), an error or hang-up (failed), or closed at the deadline.
            await connection.Writable.WaitAsync();
            pending = connection.IsClosed ? Errno.TimedOut : connection.PendingError();
        }
        while (pending is Errno.WouldBlock or Errno.InProgress);
        // False when the deadline's sweep took it first: then it is closed, whatever SO_ERROR said.
        bool inTime = ConnectDeadlines.Remove(connection);
        if (pending == 0 && inTime)
            return new OutboundResult(connection, null);
        await connection.DisposeAsync();
        string failure = !inTime ? $"timed out after {timeout.TotalSeconds:0.###} s" : SocketErrorText.DescribeErrno(pending);
        return new OutboundResult(null, failure, inTime ? pending : Errno.TimedOut);
    }
}
