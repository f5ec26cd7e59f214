using System.Buffers.Binary;

namespace Ferry.Platform.Linux;

/// <summary>
/// A TCP connect that does not wait: the socket is opened non-blocking and close-on-exec with
/// Nagle off (small messages must leave at once), the connect started, and its outcome read
/// once epoll says the socket is writable. ferryd's forward and ferry-bench's epoll engine both
/// connect this way: no thread waits on a connect, no runtime socket object is made.
/// </summary>
public static unsafe class NonBlockingConnect
{
    /// <summary>
    /// Opens a socket and starts connecting it to <paramref name="address"/> (<c>sockaddr_in</c>
    /// or <c>sockaddr_in6</c> bytes). Returns the fd, or -1 with <paramref name="error"/> set;
    /// <paramref name="connected"/> says the connect already finished (it usually has not: wait
    /// for the fd to be writable, then read <see cref="PendingError"/>).
    /// </summary>
    public static int Start(byte[] address, out int error, out bool connected)
    {
        connected = false;
        int family = BinaryPrimitives.ReadUInt16LittleEndian(address);
        int fd = SocketCalls.Open(family, SocketCalls.StreamNonBlockingCloseOnExec, 0);
        if (fd < 0)
        {
            error = Errno.Last;
            return -1;
        }
        int one = 1;
        SocketCalls.SetOption(fd, SocketCalls.ProtocolTcp, SocketCalls.TcpNoDelay, &one, sizeof(int));
        int result;
        fixed (byte* bytes = address)
            result = SocketCalls.Connect(fd, bytes, address.Length);
        if (result == 0)
        {
            error = 0;
            connected = true;
            return fd;
        }
        error = Errno.Last;
        if (error == Errno.InProgress)
        {
            error = 0;
            return fd;
        }
        DescriptorCalls.Close(fd);
        return -1;
    }

    /// <summary>The outcome of a connect that was in progress: 0 or an errno.</summary>
    public static int PendingError(int fd)
    {
        int error = 0;
        int length = sizeof(int);
        return SocketCalls.GetOption(fd, SocketCalls.SocketLevel, SocketCalls.SocketError, &error, &length) == 0
            ? error
            : Errno.Last;
    }
}
