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
    /// The CPU time <paramref name="pid"/> has used, user plus system, all its threads, and that
    /// of its children: those it has reaped (cutime + cstime) and those still running (each one's
    /// own four counters), so that a fork-per-connection or fork-per-peer server (socat, ncat,
    /// xinetd) counts its connections too, whether or not they end within the measured window.
    /// A child running at the start and reaped by the end moves from the second sum to the first,
    /// so a difference of two readings counts it once. Clock ticks of 10 ms; null when the
    /// server's own counters cannot be read.
    /// </summary>
    public static TimeSpan? CpuTime(int pid)
    {
        if (Ticks(pid, out _) is not long total)
            return null;
        try
        {
            foreach (string directory in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out int other)
                    && other != pid && Ticks(other, out int parent) is long ticks && parent == pid)
                {
                    total += ticks;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
        }
        return TimeSpan.FromSeconds((double)total / ProcessCalls.ClockTicksPerSecond);
    }

    /// <summary>utime + stime + cutime + cstime of /proc/PID/stat, and its parent; null when it cannot be read (gone).</summary>
    private static long? Ticks(int pid, out int parent)
    {
        parent = 0;
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
            string[] fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
            return fields[11..15].Sum(field => long.Parse(field, CultureInfo.InvariantCulture));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
