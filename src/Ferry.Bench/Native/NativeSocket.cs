using System.Net;
using System.Net.Sockets;

using Ferry.Platform.Linux;

namespace Ferry.Bench.Native;

/// <summary>
/// A TCP socket as a bare file descriptor for the epoll engine: opened non-blocking with
/// Nagle off (small messages must leave at once), connected without waiting
/// (<see cref="NonBlockingConnect"/>), closed by fd.
/// Called without the runtime's socket layer on purpose: one thread drives every connection
/// with plain non-blocking syscalls, no per-operation objects, no thread-pool hop.
/// </summary>
internal static unsafe class NativeSocket
{
    /// <summary>The <c>sockaddr_in</c> or <c>sockaddr_in6</c> bytes of <paramref name="endPoint"/>.</summary>
    public static byte[] AddressOf(IPEndPoint endPoint) => Ferry.Platform.Net.SocketAddressBytes.Of(endPoint);

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
