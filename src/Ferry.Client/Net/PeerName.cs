using System.Globalization;
using System.Net.Sockets;
using Ferry.Platform.Linux;

namespace Ferry.Client.Net;

/// <summary>How <c>ferry listen</c> names an accepted peer on stderr and in its errors.</summary>
internal static class PeerName
{
    /// <summary>
    /// ADDR:PORT for a TCP peer. A Unix-domain peer has no address worth showing (its socket is
    /// normally unnamed), so it is named by the process that connected: <c>pid 4242 (uid 1000)</c>.
    /// </summary>
    public static string Of(Socket socket)
    {
        if (socket.AddressFamily != AddressFamily.Unix)
            return EndpointText.Format(socket.RemoteEndPoint);
        return UnixSocketCalls.PeerOf(socket.SafeHandle) is { } peer
            ? string.Create(CultureInfo.InvariantCulture, $"pid {peer.ProcessId} (uid {peer.UserId})")
            : "an unknown process";
    }
}
