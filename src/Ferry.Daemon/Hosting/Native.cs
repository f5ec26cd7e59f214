using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Ferry.Daemon.Transport;

namespace Ferry.Daemon.Hosting;

/// <summary>The few libc calls a daemon needs that .NET does not wrap.</summary>
internal static partial class Native
{
    public const int SigTerm = 15;
    public const int SigKill = 9;
    public const int SigHup = 1;
    public const int SigUsr1 = 10;

    public const int ErrorNoSuchFile = 2;       // ENOENT
    public const int ErrorIo = 5;               // EIO
    public const int ErrorAccess = 13;          // EACCES
    public const int ErrorNotADirectory = 20;   // ENOTDIR

    private const int ORdOnly = 0;
    private const int ORdWr = 2;
    private const int OCreate = 0x40;
    private const int OCloseOnExec = 0x80000;
    private const int LockShared = 1;
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    public static partial int SetSid();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(SafeFileHandle file, int operation);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int fd);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint Write(int fd, byte* buffer, nint count);

    /// <summary>
    /// True while a process with this pid runs (signal 0 probes without sending). A zombie does
    /// not count: it is dead and holds nothing, only not yet reaped by its parent, which for a
    /// daemon is init, and some inits take seconds.
    /// </summary>
    public static bool ProcessRuns(int pid)
    {
        if (Kill(pid, 0) != 0 && Marshal.GetLastPInvokeError() != 1) // EPERM: exists, not ours
            return false;
        try
        {
            // "PID (COMMAND) STATE ...": the command may itself contain ") ".
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int end = stat.LastIndexOf(')');
            return end < 0 || end + 2 >= stat.Length || stat[end + 2] != 'Z';
        }
        catch (IOException)
        {
            return false; // gone between the two looks
        }
    }

    /// <summary>
    /// Opens a file close-on-exec (read-write and created with mode 0644 when
    /// <paramref name="create"/>, else read-only); null and the errno if it cannot.
    /// </summary>
    public static SafeFileHandle? OpenFile(string path, bool create, out int errno)
    {
        int fd = Open(path, create ? ORdWr | OCreate | OCloseOnExec : ORdOnly | OCloseOnExec, 0b110_100_100);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>
    /// flock(2) without waiting: 0 when taken, else the errno (EWOULDBLOCK: another open file
    /// holds a conflicting lock). Released when <paramref name="file"/> is closed.
    /// </summary>
    public static int TryLock(SafeFileHandle file, bool exclusive)
    {
        while (true)
        {
            if (Flock(file, (exclusive ? LockExclusive : LockShared) | LockNonBlocking) == 0)
                return 0;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != LinuxCalls.ErrorInterrupted)
                return errno;
        }
    }

    /// <summary>strerror's text in lower case ("read-only file system"), for a one-line message.</summary>
    public static string Describe(int errno)
    {
        string text = Marshal.GetPInvokeErrorMessage(errno);
        return text.Length > 0 ? char.ToLowerInvariant(text[0]) + text[1..] : $"error {errno}";
    }

    /// <summary>
    /// Points fds 0-2 at /dev/null first, then writes <paramref name="message"/> to what stdout
    /// was (the parent's pipe) and closes it: whoever reads the message knows the detaching is
    /// already done, and sees end of file right after it.
    /// </summary>
    public static unsafe void DetachThenTell(ReadOnlySpan<byte> message)
    {
        int parent = Dup(1);
        if (parent < 0)
            throw new IOException($"cannot duplicate stdout: errno {Marshal.GetLastPInvokeError()}");
        RedirectStdioToDevNull();
        fixed (byte* bytes = message)
        {
            nint written = 0;
            while (written < message.Length)
            {
                nint n = Write(parent, bytes + written, message.Length - written);
                if (n <= 0)
                    break; // the parent is gone: nobody is left to tell
                written += n;
            }
        }
        Close(parent);
    }

    /// <summary>Points stdin, stdout and stderr at /dev/null, as a daemon must once detached.</summary>
    private static void RedirectStdioToDevNull()
    {
        int devNull = Open("/dev/null", ORdWr, 0);
        if (devNull < 0)
            throw new IOException($"cannot open /dev/null: errno {Marshal.GetLastPInvokeError()}");
        for (int fd = 0; fd <= 2; fd++)
            Dup2(devNull, fd);
        if (devNull > 2)
            Close(devNull);
    }
}
