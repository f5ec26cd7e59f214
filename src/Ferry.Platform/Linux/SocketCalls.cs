using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ferry.Platform.Linux;

/// <summary>
/// Socket calls made directly, without the runtime's socket layer. ferryd passes sockets as
/// a <see cref="SafeHandle"/>: the marshaller holds a reference for the duration of each
/// call, so a socket closed by another thread is never closed under a call, and its number,
/// which the kernel may already have given to a newer connection, is never used after it. The
/// load generator drives bare descriptors it owns alone, from one thread.
/// </summary>
public static unsafe partial class SocketCalls
{
    /// <summary>MSG_NOSIGNAL: a send to a closed peer fails with EPIPE instead of raising SIGPIPE.</summary>
    public const int NoSignal = 0x4000;

    public const int AddressFamilyInet = 2;                               // AF_INET
    public const int AddressFamilyInet6 = 10;                             // AF_INET6
    public const int StreamNonBlockingCloseOnExec = 1 | 0x800 | 0x80000;  // SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC
    public const int DatagramNonBlockingCloseOnExec = 2 | 0x800 | 0x80000; // SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC
    public const int ProtocolTcp = 6;                                     // IPPROTO_TCP
    public const int TcpNoDelay = 1;                                      // TCP_NODELAY
    public const int SocketLevel = 1;                                     // SOL_SOCKET
    public const int SocketError = 4;                                     // SO_ERROR
    public const int ShutdownRead = 0;                                    // SHUT_RD
    public const int ShutdownWrite = 1;                                   // SHUT_WR
    public const int ShutdownBoth = 2;                                    // SHUT_RDWR
    public const int NonBlockingCloseOnExec = 0x800 | 0x80000;            // SOCK_NONBLOCK | SOCK_CLOEXEC (accept4)
    public const int Linger = 13;                                         // SO_LINGER

    /// <summary>Room for any address accept4 and getsockname return here (sockaddr_in6 is the largest).</summary>
    public const int AddressCapacity = 28;

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept(SafeHandle listening, byte* address, int* addressLength, int flags);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(SafeHandle socket, int how);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Control(SafeHandle socket, nuint request, int* value);

    /// <summary>SIOCOUTQ: bytes in the socket's send buffer that the peer has not yet acknowledged.</summary>
    private const nuint OutputQueue = 0x5411;

    /// <summary>Bytes sent on <paramref name="socket"/> and not yet acknowledged by its peer; 0 if the socket is gone.</summary>
    public static long UnsentBytes(SafeHandle socket)
    {
        int queued = 0;
        try
        {
            return Control(socket, OutputQueue, &queued) == 0 ? queued : 0;
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
    }

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetOption(SafeHandle socket, int level, int name, void* value, int valueLength);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetName(SafeHandle socket, byte* address, int* addressLength);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "socket", SetLastError = true)]
    public static partial int Open(int domain, int type, int protocol);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int descriptor, byte* address, int addressLength);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetOption(int descriptor, int level, int name, int* value, int valueLength);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetOption(int descriptor, int level, int name, int* value, int* valueLength);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Receive(int descriptor, byte* buffer, nint length, int flags);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int descriptor, byte* buffer, nint length, int flags);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int descriptor, int how);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Receive(SafeHandle socket, byte* buffer, nint length, int flags);

    /// <summary>MSG_DONTWAIT: this call does not wait, whatever the socket's mode.</summary>
    public const int DontWait = 0x40;

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "sendto", SetLastError = true)]
    public static partial nint SendTo(SafeHandle socket, byte* buffer, nint length, int flags, byte* address, int addressLength);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(SafeHandle socket, byte* buffer, nint length, int flags);

    public const int AddressFamilyUnix = 1;   // AF_UNIX
    private const int StreamCloseOnExec = 1 | 0x80000; // SOCK_STREAM | SOCK_CLOEXEC

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "socketpair", SetLastError = true)]
    private static partial int OpenPairCall(int domain, int type, int protocol, int* descriptors);

    /// <summary>
    /// A connected pair of Unix stream sockets, both close-on-exec: <paramref name="ours"/>
    /// non-blocking for an epoll loop, <paramref name="theirs"/> blocking, as a program expects
    /// its standard input and output to be. Returns 0, or the errno.
    /// </summary>
    public static int OpenPair(out int ours, out int theirs)
    {
        int* pair = stackalloc int[2];
        ours = theirs = -1;
        if (OpenPairCall(AddressFamilyUnix, StreamCloseOnExec, 0, pair) != 0)
            return Errno.Last;
        if (!DescriptorCalls.SetNonBlocking(pair[0]))
        {
            int error = Errno.Last;
            DescriptorCalls.Close(pair[0]);
            DescriptorCalls.Close(pair[1]);
            return error;
        }
        ours = pair[0];
        theirs = pair[1];
        return 0;
    }
}
