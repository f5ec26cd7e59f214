using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>Loopback UDP ports for tests: a free one, and waiting until a peer has bound one.</summary>
internal static class UdpPorts
{
    /// <summary>A UDP port nothing is bound to on 127.0.0.1 (a datagram sent there is refused by ICMP).</summary>
    public static int Free()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>
    /// Waits until some socket is bound to the UDP port, read from /proc/net/udp{,6} rather than
    /// by sending to it: a probe datagram would be taken for a peer's.
    /// </summary>
    public static async Task WaitBoundAsync(int port, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        string hexPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        while (!new[] { "/proc/net/udp", "/proc/net/udp6" }.Where(File.Exists)
            .SelectMany(table => File.ReadLines(table).Skip(1))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(fields => fields.Length > 1 && fields[1].EndsWith(hexPort, StringComparison.Ordinal)))
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"nothing is bound to UDP port {port}");
            await Task.Delay(20);
        }
    }
}
