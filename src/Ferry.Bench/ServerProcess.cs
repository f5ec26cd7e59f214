using System.Globalization;

namespace Ferry.Client.Bench;

/// <summary>Resident memory of another process on this machine, from /proc.</summary>
internal static class ServerMemory
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
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}
