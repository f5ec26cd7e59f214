using System.Runtime.InteropServices;

namespace Ferry.Platform.Linux;

/// <summary>Processes and sessions: the calls a daemon and its control commands make.</summary>
public static partial class ProcessCalls
{
    [LibraryImport(Libc.Name, EntryPoint = "setsid", SetLastError = true)]
    public static partial int SetSession();

    [LibraryImport(Libc.Name, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    /// <summary>
    /// True while a process with this pid runs (signal 0 probes without sending). A zombie does
    /// not count: it is dead and holds nothing, only not yet reaped by its parent, which for a
    /// daemon is init, and some inits take seconds.
    /// </summary>
    public static bool Runs(int pid)
    {
        if (Kill(pid, 0) != 0 && Errno.Last != Errno.NotPermitted) // EPERM: exists, not ours
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

    private const int ClockTicksName = 2; // _SC_CLK_TCK

    [LibraryImport(Libc.Name, EntryPoint = "sysconf", SetLastError = true)]
    private static partial nint Sysconf(int name);

    /// <summary>Clock ticks per second of /proc/PID/stat's utime and stime (100 on Linux; asked, not assumed).</summary>
    public static long ClockTicksPerSecond { get; } = OperatingSystem.IsLinux() && Sysconf(ClockTicksName) is > 0 and var ticks ? ticks : 100;

    [StructLayout(LayoutKind.Sequential)]
    private struct ResourceLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    private const int OpenFilesResource = 7; // RLIMIT_NOFILE

    [LibraryImport(Libc.Name, EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetLimit(int resource, out ResourceLimit limit);

    /// <summary>The soft RLIMIT_NOFILE (the runtime raises it to the hard limit at start), or null if unknown.</summary>
    public static long? OpenFilesLimit()
    {
        if (!OperatingSystem.IsLinux() || GetLimit(OpenFilesResource, out var limit) != 0)
            return null;
        return limit.Current > long.MaxValue ? long.MaxValue : (long)limit.Current;
    }

    private const int WaitPid = 1;            // P_PID
    private const int WaitExited = 4;         // WEXITED
    private const int WaitNoHang = 1;         // WNOHANG
    private const int WaitNoReap = 0x01000000; // WNOWAIT
    private const int ChildExited = 1;        // CLD_EXITED
    private const int SignalInfoSize = 128;
    private const int SignalInfoCode = 8;     // si_code's offset in siginfo_t
    private const int SignalInfoPid = 16;     // si_pid's
    private const int SignalInfoStatus = 24;  // si_status's

    [LibraryImport(Libc.Name, EntryPoint = "pidfd_open", SetLastError = true)]
    public static partial int OpenPidDescriptor(int pid, uint flags);

    [LibraryImport(Libc.Name, EntryPoint = "waitid", SetLastError = true)]
    private static unsafe partial int WaitId(int idType, int id, byte* info, int options);

    [LibraryImport(Libc.Name, EntryPoint = "waitpid", SetLastError = true)]
    private static unsafe partial int WaitPidCall(int pid, int* status, int options);

    /// <summary>
    /// How child <paramref name="pid"/> ended, if it has, without reaping it: while it is a
    /// zombie its pid, and so its process group's id, cannot be given to another process, so the
    /// group can still be signalled safely. Null while it runs. Exit code, or the signal that ended it.
    /// </summary>
    public static unsafe (int? Code, int? Signal)? PeekExit(int pid)
    {
        byte* info = stackalloc byte[SignalInfoSize];
        new Span<byte>(info, SignalInfoSize).Clear();
        if (WaitId(WaitPid, pid, info, WaitExited | WaitNoHang | WaitNoReap) != 0)
            return Errno.Last == Errno.NoChild ? (null, null) : null; // reaped by someone else: how it ended is unknown
        if (*(int*)(info + SignalInfoPid) == 0)
            return null;
        int code = *(int*)(info + SignalInfoCode);
        int status = *(int*)(info + SignalInfoStatus);
        return code == ChildExited ? (status, null) : (null, status);
    }

    /// <summary>Reaps child <paramref name="pid"/> if it has ended (no zombie left); true once it is gone.</summary>
    public static unsafe bool Reap(int pid)
    {
        int status;
        int result = WaitPidCall(pid, &status, WaitNoHang);
        return result == pid || (result < 0 && Errno.Last == Errno.NoChild);
    }
}
