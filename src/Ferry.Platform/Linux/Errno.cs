using System.Runtime.InteropServices;

namespace Ferry.Platform.Linux;

/// <summary>The errno values Ferry tells apart, each named once (Linux numbers, every architecture Ferry builds for).</summary>
public static class Errno
{
    public const int NotPermitted = 1;       // EPERM
    public const int NoSuchFile = 2;         // ENOENT
    public const int Interrupted = 4;        // EINTR
    public const int Io = 5;                 // EIO
    public const int OutOfMemory = 12;       // ENOMEM
    public const int BadDescriptor = 9;      // EBADF
    public const int NoChild = 10;           // ECHILD
    public const int WouldBlock = 11;        // EAGAIN, EWOULDBLOCK
    public const int NotExecutable = 8;      // ENOEXEC
    public const int AccessDenied = 13;      // EACCES
    public const int NotADirectory = 20;     // ENOTDIR
    public const int TooManyFilesInSystem = 23; // ENFILE
    public const int TooManyFiles = 24;      // EMFILE
    public const int NoSpace = 28;           // ENOSPC
    public const int BrokenPipe = 32;        // EPIPE
    public const int Protocol = 71;          // EPROTO
    public const int AddressNotAvailable = 99; // EADDRNOTAVAIL
    public const int ConnectionAborted = 103; // ECONNABORTED
    public const int ConnectionReset = 104;  // ECONNRESET
    public const int NoBufferSpace = 105;    // ENOBUFS
    public const int TimedOut = 110;         // ETIMEDOUT
    public const int ConnectionRefused = 111; // ECONNREFUSED
    public const int NetworkUnreachable = 101; // ENETUNREACH
    public const int HostUnreachable = 113;  // EHOSTUNREACH
    public const int InProgress = 115;       // EINPROGRESS
    public const int NotImplemented = 38;    // ENOSYS

    /// <summary>The errno of the last call made with SetLastError.</summary>
    public static int Last => Marshal.GetLastPInvokeError();

    /// <summary>strerror's text as the C library words it ("No space left on device").</summary>
    public static string Text(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>strerror's text in lower case ("read-only file system"), for a one-line message.</summary>
    public static string Describe(int errno)
    {
        string text = Marshal.GetPInvokeErrorMessage(errno);
        return text.Length > 0 ? char.ToLowerInvariant(text[0]) + text[1..] : $"error {errno}";
    }
}
