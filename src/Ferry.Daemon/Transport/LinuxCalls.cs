using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ferry.Daemon.Transport;

/// <summary>
/// The Linux calls the transport makes itself: non-blocking <c>recv</c>/<c>send</c> on a
/// connection's socket and the epoll calls of <see cref="EpollLoop"/>. Sockets are passed as
/// <see cref="SafeSocketHandle"/>: the marshaller holds a reference for the duration of each
/// call, so a socket closed by another thread is never closed under a call, and its number,
/// which the kernel may already have given to a newer connection, is never used after it.
/// </summary>
internal static unsafe partial class LinuxCalls
{
    public const int ErrorInterrupted = 4;       // EINTR
    public const int ErrorBadDescriptor = 9;     // EBADF
    public const int ErrorWouldBlock = 11;       // EAGAIN
    public const int ErrorBrokenPipe = 32;       // EPIPE
    public const int ErrorConnectionReset = 104; // ECONNRESET

    public const int NoSignal = 0x4000;          // MSG_NOSIGNAL: EPIPE instead of SIGPIPE

    public const int EpollCloseOnExec = 0x80000;
    public const int EpollAdd = 1;
    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollError = 0x008;
    public const uint EpollHangUp = 0x010;
    public const uint EpollPeerHangUp = 0x2000;  // EPOLLRDHUP
    public const uint EpollEdgeTriggered = 1u << 31;

    private const string Libc = "libc";

    [LibraryImport(Libc, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Receive(SafeSocketHandle socket, byte* buffer, nint length, int flags);

    /// <summary><c>ioctl(FIONREAD)</c>: how many bytes the socket holds that no one has read yet.</summary>
    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ReadableBytes(SafeSocketHandle socket, nuint request, int* count);

    public const nuint ReadableBytesRequest = 0x541B; // FIONREAD

    [LibraryImport(Libc, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(SafeSocketHandle socket, byte* buffer, nint length, int flags);

    [LibraryImport(Libc, EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate(int flags);

    [LibraryImport(Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollControl(int epoll, int operation, SafeSocketHandle socket, byte* epollEvent);

    [LibraryImport(Libc, EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epoll, byte* events, int maxEvents, int timeoutMilliseconds);

    public static int LastError => Marshal.GetLastPInvokeError();

    /// <summary>
    /// <c>struct epoll_event</c>: a 32-bit event mask then 64 bits of user data, packed
    /// (12 bytes) on x86-64 and naturally aligned (16 bytes) elsewhere.
    /// </summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    public static int EpollDataOffset => EpollEventSize - 8;

    /// <summary>What an errno means for the connection, in the words of the runtime's own sockets.</summary>
    public static IOException Failure(int errno, string operation) => errno switch
    {
        ErrorConnectionReset or ErrorBrokenPipe => new Microsoft.AspNetCore.Connections.ConnectionResetException(
            $"{operation}: connection reset by peer", new SocketException((int)SocketError.ConnectionReset)),
        _ => new IOException($"{operation}: {Marshal.GetPInvokeErrorMessage(errno)}"),
    };
}
