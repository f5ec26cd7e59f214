using System.Net;
using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>Opens the socket of <c>ferry -u HOST PORT</c>: UDP, connected to the server.</summary>
/// <remarks>
/// connect() on a UDP socket sends nothing; it fixes the peer, so the kernel drops datagrams
/// from anyone else, and makes an ICMP "port unreachable" for our datagrams come back as
/// ECONNREFUSED on the next receive or send, which an unconnected socket never reports.
/// </remarks>
internal static class UdpConnector
{
    /// <summary>
    /// Resolves <paramref name="host"/> and connects to the first address a socket can be
    /// made and connected for (on a host without IPv6, an IPv6 answer fails here and the
    /// next address is tried). Failures become <see cref="CommandFailedException"/> naming the
    /// host as the user typed it.
    /// </summary>
    public static async Task<Socket> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        IPAddress[] addresses = await HostLookup.ResolveForConnectAsync(host, cancellationToken);

        string failure = string.Empty;
        foreach (IPAddress address in addresses)
        {
            Socket? socket = null;
            try
            {
                socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                socket.Connect(new IPEndPoint(address, port));
                return socket;
            }
            catch (SocketException exception)
            {
                socket?.Dispose();
                failure = $"connect to {host} port {port}: {SocketErrorText.Describe(exception)}";
            }
        }
        throw new CommandFailedException(failure);
    }
}
