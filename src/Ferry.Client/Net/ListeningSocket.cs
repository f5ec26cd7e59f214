using System.Net;
using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>Creates the bound socket of <c>ferry listen</c>: a listening TCP socket, or a UDP one (<c>-u</c>).</summary>
internal static class ListeningSocket
{
    private const int LinuxSolSocket = 1;
    private const int LinuxSoReuseAddr = 2;

    /// <summary>
    /// Binds a TCP socket to the given address (a host name's first resolved address), or to
    /// all interfaces: dual-stack <c>[::]</c> where IPv6 exists, else <c>0.0.0.0</c>; and listens.
    /// Failures become <see cref="CommandFailedException"/> ("cannot listen on ...").
    /// </summary>
    public static Task<Socket> OpenAsync(HostPort address, int backlog, CancellationToken cancellationToken) =>
        OpenAsync(address, ProtocolType.Tcp, backlog, cancellationToken);

    /// <summary>Binds a UDP socket the same way.</summary>
    public static Task<Socket> OpenDatagramAsync(HostPort address, CancellationToken cancellationToken) =>
        OpenAsync(address, ProtocolType.Udp, backlog: 0, cancellationToken);

    private static async Task<Socket> OpenAsync(HostPort address, ProtocolType protocol, int backlog, CancellationToken cancellationToken)
    {
        if (address.Host is null)
            return OpenOnAllInterfaces(address.Port, protocol, backlog);

        IPAddress[] candidates;
        try
        {
            candidates = await HostLookup.ResolveAsync(address.Host, cancellationToken);
        }
        catch (SocketException exception)
        {
            throw CannotListen(address.ToString(), exception);
        }
        var endpoint = new IPEndPoint(candidates[0], address.Port);
        Socket socket;
        try
        {
            socket = NewSocket(endpoint.AddressFamily, protocol);
        }
        catch (SocketException exception)
        {
            throw CannotListen(address.ToString(), exception);
        }
        return BindAndListen(socket, endpoint, backlog, address.ToString());
    }

    private static Socket OpenOnAllInterfaces(int port, ProtocolType protocol, int backlog)
    {
        var anyV6 = new IPEndPoint(IPAddress.IPv6Any, port);
        if (Socket.OSSupportsIPv6)
        {
            Socket? dual = null;
            try
            {
                dual = NewSocket(AddressFamily.InterNetworkV6, protocol);
                dual.DualMode = true;
                return BindAndListen(dual, anyV6, backlog);
            }
            catch (SocketException exception) when (IsIPv6Unavailable(exception.SocketErrorCode))
            {
                dual?.Dispose();
            }
            catch (SocketException exception)
            {
                dual?.Dispose();
                throw CannotListen(anyV6.ToString(), exception);
            }
        }
        var anyV4 = new IPEndPoint(IPAddress.Any, port);
        return BindAndListen(NewSocket(AddressFamily.InterNetwork, protocol), anyV4, backlog, anyV4.ToString());
    }

    private static Socket NewSocket(AddressFamily family, ProtocolType protocol) =>
        new(family, protocol == ProtocolType.Udp ? SocketType.Dgram : SocketType.Stream, protocol);

    private static Socket BindAndListen(Socket socket, IPEndPoint endpoint, int backlog, string shownAs)
    {
        try
        {
            return BindAndListen(socket, endpoint, backlog);
        }
        catch (SocketException exception)
        {
            socket.Dispose();
            throw CannotListen(shownAs, exception);
        }
    }

    private static Socket BindAndListen(Socket socket, IPEndPoint endpoint, int backlog)
    {
        // UDP binds without SO_REUSEADDR: there is no TIME_WAIT to get past, and on a UDP
        // socket the option would let a second listener share the port instead of failing.
        bool stream = socket.SocketType == SocketType.Stream;
        if (stream)
            AllowRebindDuringTimeWait(socket);
        socket.Bind(endpoint);
        if (stream)
            socket.Listen(backlog);
        return socket;
    }

    /// <remarks>
    /// Without SO_REUSEADDR, restarting <c>ferry listen</c> on the port of a connection it
    /// just closed fails for a minute (TIME_WAIT). <see cref="SocketOptionName.ReuseAddress"/>
    /// is not used because on Linux .NET sets SO_REUSEPORT along with it, which would let a
    /// second listener share a busy port instead of failing with "address already in use".
    /// </remarks>
    private static void AllowRebindDuringTimeWait(Socket socket)
    {
        if (OperatingSystem.IsLinux())
            socket.SetRawSocketOption(LinuxSolSocket, LinuxSoReuseAddr, BitConverter.GetBytes(1));
    }

    private static bool IsIPv6Unavailable(SocketError error) =>
        error is SocketError.AddressFamilyNotSupported or SocketError.ProtocolNotSupported
            or SocketError.AddressNotAvailable;

    private static CommandFailedException CannotListen(string shownAs, SocketException exception) =>
        new($"cannot listen on {shownAs}: {SocketErrorText.Describe(exception)}");
}
