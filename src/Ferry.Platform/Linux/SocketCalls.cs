using System.Net.Sockets;

namespace Ferry.Platform.Linux;

/// <summary>
/// Non-blocking transfers on a connected socket. Sockets are passed as <see cref="SafeSocketHandle"/>:
/// the marshaller holds a reference for the duration of each call, so a socket closed by another
/// thread is never closed under a call, and its number, which the kernel may already have given to
/// a newer connection, is never used after it.
/// </summary>
public static unsafe partial class SocketCalls
{
    /// <summary>MSG_NOSIGNAL: a send to a closed peer fails with EPIPE instead of raising SIGPIPE.</summary>
    public const int NoSignal = 0x4000;

    /// <summary>FIONREAD: how many received bytes the socket holds that no one has read yet.</summary>
    public const nuint ReadableBytesRequest = 0x541B;

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Receive(SafeSocketHandle socket, byte* buffer, nint length, int flags);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(SafeSocketHandle socket, byte* buffer, nint length, int flags);

    [System.Runtime.InteropServices.LibraryImport(Libc.Name, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ReadableBytes(SafeSocketHandle socket, nuint request, int* count);
}
