using System.Runtime.InteropServices;

namespace Ferry.Daemon.Hosting;

/// <summary>The few libc calls a daemon needs that .NET does not wrap.</summary>
internal static partial class Native
{
    public const int SigTerm = 15;
    public const int SigKill = 9;
    public const int SigHup = 1;
    public const int SigUsr1 = 10;

    private const int ORdWr = 2;

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    public static partial int SetSid();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int fd);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint Write(int fd, byte* buffer, nint count);

    /// <summary>True when a process with this pid exists (signal 0 probes without sending).</summary>
    public static bool ProcessExists(int pid) =>
        Kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() == 1; // EPERM: exists, not ours

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
        int devNull = Open("/dev/null", ORdWr);
        if (devNull < 0)
            throw new IOException($"cannot open /dev/null: errno {Marshal.GetLastPInvokeError()}");
        for (int fd = 0; fd <= 2; fd++)
            Dup2(devNull, fd);
        if (devNull > 2)
            Close(devNull);
    }
}
