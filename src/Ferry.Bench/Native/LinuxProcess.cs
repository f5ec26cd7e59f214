using System.Runtime.InteropServices;

namespace Ferry.Bench.Native;

/// <summary>The unit of the process times in /proc (USER_HZ), from sysconf.</summary>
internal static class LinuxProcess
{
    private const int ClockTicksName = 2; // _SC_CLK_TCK

    /// <summary>Clock ticks per second of /proc/PID/stat's utime and stime (100 on Linux; asked, not assumed).</summary>
    public static long ClockTicksPerSecond { get; } = OperatingSystem.IsLinux() && Sysconf(ClockTicksName) is > 0 and var ticks ? ticks : 100;

    [DllImport("libc", EntryPoint = "sysconf", SetLastError = true)]
    private static extern nint Sysconf(int name);
}
