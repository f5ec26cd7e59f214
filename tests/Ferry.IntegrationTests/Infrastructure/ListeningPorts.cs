using System.Globalization;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>
/// Waits until some process listens on a loopback TCP port, read from /proc/net/tcp{,6}
/// rather than by connecting: a probe connection would be served (and disturb servers that
/// take one peer at a time, like openssl s_server or socat without fork).
/// </summary>
internal static class ListeningPorts
{
    private const string ListenState = "0A";

    public static async Task WaitAsync(int port, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!IsListening(port))
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"nothing listens on port {port}");
            await Task.Delay(20);
        }
    }

    private static bool IsListening(int port)
    {
        string hexPort = port.ToString("X4", CultureInfo.InvariantCulture);
        foreach (string table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
                continue;
            foreach (string line in File.ReadLines(table).Skip(1))
            {
                // "  sl  local_address rem_address   st ..."; local_address is ADDR:PORT in hex.
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 3 && fields[1].EndsWith(":" + hexPort, StringComparison.Ordinal) && fields[3] == ListenState)
                    return true;
            }
        }
        return false;
    }
}
