using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Ferry.Platform.Linux;

namespace Ferry.Bench.Native;

/// <summary>
/// A socket as a bare file descriptor for the epoll engine: a TCP or Unix stream socket opened
/// non-blocking (TCP with Nagle off: small messages must leave at once) and connected without
/// waiting (<see cref="NonBlockingConnect"/>), or a connected UDP socket; closed by fd.
/// Called without the runtime's socket layer on purpose: one thread drives every connection
/// with plain non-blocking syscalls, no per-operation objects, no thread-pool hop.
/// </summary>
internal static unsafe class NativeSocket
{
    /// <summary>The <c>sockaddr_in</c>, <c>sockaddr_in6</c> or <c>sockaddr_un</c> bytes of <paramref name="endPoint"/>.</summary>
    public static byte[] AddressOf(EndPoint endPoint) => endPoint switch
    {
        IPEndPoint ip => SocketAddressBytes.Of(ip),
        UnixDomainSocketEndPoint unix => SocketAddressBytes.OfPath(unix.ToString()),
        _ => throw new ArgumentException($"no socket address for {endPoint.GetType().Name}", nameof(endPoint)),
    };

    /// <summary>
    /// A UDP socket, non-blocking and close-on-exec, connected to <paramref name="address"/>: its
    /// sends go there and it receives only that peer's datagrams (and, as an error, its ICMP
    /// "port unreachable"). Returns the fd, or -1 with <paramref name="error"/> set.
    /// </summary>
    public static int OpenDatagram(byte[] address, out int error)
    {
        int fd = SocketCalls.Open(BinaryPrimitives.ReadUInt16LittleEndian(address), SocketCalls.DatagramNonBlockingCloseOnExec, 0);
        if (fd < 0)
        {
            error = Errno.Last;
            return -1;
        }
        int result;
        fixed (byte* bytes = address)
            result = SocketCalls.Connect(fd, bytes, address.Length);
        if (result != 0)
        {
            error = Errno.Last;
            Close(fd);
            return -1;
        }
        error = 0;
        return fd;
    }

    /// <summary>
    /// One non-blocking send of as much of <paramref name="data"/> as the kernel takes, retried
    /// on EINTR. Returns the bytes sent (&gt; 0), 0 when the socket buffer is full (EAGAIN: wait
    /// for EPOLLOUT), or -1 with <paramref name="error"/> set when the connection failed.
    /// </summary>
    public static nint SendSome(int fd, ReadOnlySpan<byte> data, out int error)
    {
        fixed (byte* bytes = data)
        {
            while (true)
            {
                nint n = SocketCalls.Send(fd, bytes, data.Length, SocketCalls.NoSignal);
                error = n > 0 ? 0 : Errno.Last;
                if (n > 0 || error != Errno.Interrupted)
                    return n > 0 ? n : error == Errno.WouldBlock ? 0 : -1;
            }
        }
    }

    /// <summary>One recv: bytes received, 0 at the peer's FIN, or -1 (errno in <see cref="Errno.Last"/>).</summary>
    public static nint Receive(int fd, Span<byte> buffer)
    {
        fixed (byte* bytes = buffer)
            return SocketCalls.Receive(fd, bytes, buffer.Length, 0);
    }

    /// <summary>Our FIN; the peer can still send.</summary>
    public static void ShutdownWrite(int fd) => SocketCalls.Shutdown(fd, SocketCalls.ShutdownWrite);

    public static void Close(int fd) => DescriptorCalls.Close(fd);
}
