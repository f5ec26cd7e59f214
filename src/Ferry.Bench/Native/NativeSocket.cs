using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Ferry.Bench.Native;

/// <summary>
/// A TCP socket as a bare file descriptor for the epoll engine: opened non-blocking with
/// Nagle off (small messages must leave at once), connected without waiting, closed by fd.
/// </summary>
internal static class NativeSocket
{
    /// <summary>The <c>sockaddr_in</c> or <c>sockaddr_in6</c> bytes of <paramref name="endPoint"/>.</summary>
    public static byte[] AddressOf(IPEndPoint endPoint)
    {
        bool v6 = endPoint.AddressFamily == AddressFamily.InterNetworkV6;
        var address = new byte[v6 ? 28 : 16];
        // sa_family is in host byte order, the port in network order.
        BinaryPrimitives.WriteUInt16LittleEndian(address, (ushort)(v6 ? LinuxSockets.AddressFamilyInet6 : LinuxSockets.AddressFamilyInet));
        BinaryPrimitives.WriteUInt16BigEndian(address.AsSpan(2), (ushort)endPoint.Port);
        if (v6)
        {
            endPoint.Address.TryWriteBytes(address.AsSpan(8, 16), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(address.AsSpan(24), (uint)endPoint.Address.ScopeId);
        }
        else
        {
            endPoint.Address.TryWriteBytes(address.AsSpan(4, 4), out _);
        }
        return address;
    }

    /// <summary>
    /// Opens a socket and starts connecting it. Returns the fd, or -1 with <paramref name="error"/>
    /// set; <paramref name="connected"/> says the connect already finished (it usually has not:
    /// wait for the fd to be writable, then read <see cref="PendingError"/>).
    /// </summary>
    public static int StartConnect(byte[] address, out int error, out bool connected)
    {
        connected = false;
        int family = BinaryPrimitives.ReadUInt16LittleEndian(address);
        int fd = LinuxSockets.Socket(family, LinuxSockets.StreamNonBlockingCloseOnExec, 0);
        if (fd < 0)
        {
            error = LinuxSockets.LastError;
            return -1;
        }
        int one = 1;
        LinuxSockets.SetOption(fd, LinuxSockets.ProtocolTcp, LinuxSockets.TcpNoDelay, ref one, sizeof(int));
        if (LinuxSockets.Connect(fd, address, address.Length) == 0)
        {
            error = 0;
            connected = true;
            return fd;
        }
        error = LinuxSockets.LastError;
        if (error == LinuxSockets.ErrorInProgress)
        {
            error = 0;
            return fd;
        }
        LinuxSockets.Close(fd);
        return -1;
    }

    /// <summary>The outcome of a connect that was in progress: 0 or an errno.</summary>
    public static int PendingError(int fd)
    {
        int error = 0;
        int length = sizeof(int);
        return LinuxSockets.GetOption(fd, LinuxSockets.SocketLevel, LinuxSockets.SocketError, ref error, ref length) == 0
            ? error
            : LinuxSockets.LastError;
    }

    public static void Close(int fd) => LinuxSockets.Close(fd);
}
