using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ferry.Client.Net;

/// <summary>How <c>ferry listen</c> names an accepted peer on stderr and in its errors.</summary>
internal static class PeerName
{
    private const int SocketLevel = 1;          // SOL_SOCKET
    private const int PeerCredentials = 17;     // SO_PEERCRED: struct ucred { pid, uid, gid }, 32 bits each, in host order

    /// <summary>
    /// ADDR:PORT for a TCP peer. A Unix-domain peer has no address worth showing (its socket is
    /// normally unnamed), so it is named by the process that connected: <c>pid 4242 (uid 1000)</c>.
    /// </summary>
    public static string Of(Socket socket)
    {
        if (socket.AddressFamily != AddressFamily.Unix)
            return EndpointText.Format(socket.RemoteEndPoint);
        Span<byte> credentials = stackalloc byte[12];
        try
        {
            if (socket.GetRawSocketOption(SocketLevel, PeerCredentials, credentials) < 8)
                return "an unknown process";
        }
        catch (SocketException)
        {
            return "an unknown process";
        }
        int pid = MemoryMarshal.Read<int>(credentials);
        uint uid = MemoryMarshal.Read<uint>(credentials[4..]);
        return string.Create(CultureInfo.InvariantCulture, $"pid {pid} (uid {uid})");
    }
}
