using System.Globalization;
using Ferry.Bench.Native;
using Ferry.Platform.Linux;

namespace Ferry.Bench;

/// <summary>Another process on this machine (the server under test), read from /proc.</summary>
internal static class ServerProcess
{
    /// <summary>VmRSS of <paramref name="pid"/> in bytes, or null when it cannot be read (gone, not Linux).</summary>
    public static long? ResidentBytes(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    continue;
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>
    /// The CPU time <paramref name="pid"/> has used, user plus system, all its threads, and its
    /// children once it has reaped them, so that a fork-per-connection server (socat, ncat)
    /// counts its connections too (utime + stime + cutime + cstime of /proc/PID/stat, in clock
    /// ticks of 10 ms); null when it cannot be read.
    /// </summary>
    public static TimeSpan? CpuTime(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
            string[] fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long ticks = fields[11..15].Sum(field => long.Parse(field, CultureInfo.InvariantCulture));
            return TimeSpan.FromSeconds((double)ticks / ProcessCalls.ClockTicksPerSecond);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
