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
}
