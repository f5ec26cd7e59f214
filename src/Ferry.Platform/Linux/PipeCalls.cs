using System.Runtime.InteropServices;

namespace Ferry.Platform.Linux;

/// <summary>
/// A kernel pipe and <c>splice(2)</c>: bytes moved from a socket into a pipe and from the pipe into
/// another socket without passing through user space (forward's relays, as HAProxy splices).
/// </summary>
public static unsafe partial class PipeCalls
{
    private const int NonBlockingCloseOnExec = 0x800 | 0x80000; // O_NONBLOCK | O_CLOEXEC

    /// <summary>SPLICE_F_MOVE | SPLICE_F_NONBLOCK: move pages rather than copy where the kernel can, and never wait on the pipe.</summary>
    public const uint MoveNonBlocking = 1 | 2;

    [LibraryImport(Libc.Name, EntryPoint = "pipe2", SetLastError = true)]
    private static partial int OpenCall(int* descriptors, int flags);

    /// <summary>A non-blocking, close-on-exec pipe. Returns 0, or the errno.</summary>
    public static int Open(out int read, out int write)
    {
        int* ends = stackalloc int[2];
        read = write = -1;
        if (OpenCall(ends, NonBlockingCloseOnExec) != 0)
            return Errno.Last;
        read = ends[0];
        write = ends[1];
        return 0;
    }

    /// <summary>Moves up to <paramref name="length"/> bytes from <paramref name="socket"/> into the pipe: bytes moved, 0 at the peer's FIN, or -1.</summary>
    [LibraryImport(Libc.Name, EntryPoint = "splice", SetLastError = true)]
    public static partial nint FromSocket(SafeHandle socket, long* socketOffset, int pipeWrite, long* pipeOffset, nint length, uint flags);

    /// <summary>Moves up to <paramref name="length"/> bytes from the pipe into <paramref name="socket"/>: bytes moved, or -1.</summary>
    [LibraryImport(Libc.Name, EntryPoint = "splice", SetLastError = true)]
    public static partial nint ToSocket(int pipeRead, long* pipeOffset, SafeHandle socket, long* socketOffset, nint length, uint flags);
}
