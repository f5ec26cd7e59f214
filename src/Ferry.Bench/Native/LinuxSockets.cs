using System.Runtime.InteropServices;

namespace Ferry.Bench.Native;

/// <summary>
/// The few Linux socket and epoll calls the epoll engine makes directly. Called without the
/// runtime's socket layer on purpose: one thread drives every connection with plain
/// non-blocking syscalls, no per-operation objects, no thread-pool hop. Buffers are passed as
/// <c>ref byte</c> so the project needs no unsafe code; the marshaller pins them for the call.
/// </summary>
internal static class LinuxSockets
{
    public const int AddressFamilyInet = 2;
    public const int AddressFamilyInet6 = 10;
    public const int StreamNonBlockingCloseOnExec = 1 | 0x800 | 0x80000; // SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC
    public const int ProtocolTcp = 6;
    public const int TcpNoDelay = 1;
    public const int SocketLevel = 1;       // SOL_SOCKET
    public const int SocketError = 4;       // SO_ERROR
    public const int NoSignal = 0x4000;     // MSG_NOSIGNAL
    public const int ShutdownWrite = 1;     // SHUT_WR

    public const int ErrorInterrupted = 4;      // EINTR
    public const int ErrorWouldBlock = 11;      // EAGAIN / EWOULDBLOCK
    public const int ErrorTooManyFiles = 24;    // EMFILE
    public const int ErrorBrokenPipe = 32;      // EPIPE
    public const int ErrorAddressNotAvailable = 99;     // EADDRNOTAVAIL
    public const int ErrorConnectionReset = 104;        // ECONNRESET
    public const int ErrorTimedOut = 110;       // ETIMEDOUT
    public const int ErrorConnectionRefused = 111;      // ECONNREFUSED
    public const int ErrorInProgress = 115;     // EINPROGRESS

    public const int EpollCloseOnExec = 0x80000;
    public const int EpollAdd = 1;
    public const int EpollModify = 3;
    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollError = 0x008;
    public const uint EpollHangUp = 0x010;

    private const string Libc = "libc";

    [DllImport(Libc, EntryPoint = "socket", SetLastError = true)]
    public static extern int Socket(int domain, int type, int protocol);

    [DllImport(Libc, EntryPoint = "connect", SetLastError = true)]
    public static extern int Connect(int fd, byte[] address, int addressLength);

    [DllImport(Libc, EntryPoint = "setsockopt", SetLastError = true)]
    public static extern int SetOption(int fd, int level, int name, ref int value, int valueLength);

    [DllImport(Libc, EntryPoint = "getsockopt", SetLastError = true)]
    public static extern int GetOption(int fd, int level, int name, ref int value, ref int valueLength);

    [DllImport(Libc, EntryPoint = "send", SetLastError = true)]
    public static extern nint Send(int fd, ref byte buffer, nint length, int flags);

    [DllImport(Libc, EntryPoint = "recv", SetLastError = true)]
    public static extern nint Receive(int fd, ref byte buffer, nint length, int flags);

    [DllImport(Libc, EntryPoint = "shutdown", SetLastError = true)]
    public static extern int Shutdown(int fd, int how);

    [DllImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static extern int Close(int fd);

    [DllImport(Libc, EntryPoint = "epoll_create1", SetLastError = true)]
    public static extern int EpollCreate(int flags);

    [DllImport(Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static extern int EpollControl(int epollFd, int operation, int fd, byte[] epollEvent);

    [DllImport(Libc, EntryPoint = "epoll_wait", SetLastError = true)]
    public static extern int EpollWait(int epollFd, byte[] events, int maxEvents, int timeoutMilliseconds);

    public static int LastError => Marshal.GetLastPInvokeError();

    /// <summary>
    /// One non-blocking send of as much of <paramref name="data"/> as the kernel takes, retried
    /// on EINTR. Returns the bytes sent (&gt; 0), 0 when the socket buffer is full (EAGAIN: wait
    /// for EPOLLOUT), or -1 with <paramref name="error"/> set when the connection failed.
    /// </summary>
    public static nint SendSome(int fd, ReadOnlySpan<byte> data, out int error)
    {
        while (true)
        {
            nint n = Send(fd, ref MemoryMarshal.GetReference(data), data.Length, NoSignal);
            error = n > 0 ? 0 : LastError;
            if (n > 0 || error != ErrorInterrupted)
                return n > 0 ? n : error == ErrorWouldBlock ? 0 : -1;
        }
    }
}
