using System.Net;
using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>Creates the bound, listening socket of <c>ferry listen</c>.</summary>
internal static class ListeningSocket
{
    private const int LinuxSolSocket = 1;
    private const int LinuxSoReuseAddr = 2;

    /// <summary>
    /// Binds to the given address (a host name's first resolved address), or to all
    /// interfaces: dual-stack <c>[::]</c> where IPv6 exists, else <c>0.0.0.0</c>.
    /// Failures become <see cref="CommandFailedException"/> ("cannot listen on ...").
    /// </summary>
    public static async Task<Socket> OpenAsync(HostPort address, int backlog, CancellationToken cancellationToken)
    {
        if (address.Host is null)
            return OpenOnAllInterfaces(address.Port, backlog);

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
            socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        }
        catch (SocketException exception)
        {
            throw CannotListen(address.ToString(), exception);
        }
        return BindAndListen(socket, endpoint, backlog, address.ToString());
    }

    private static Socket OpenOnAllInterfaces(int port, int backlog)
    {
        var anyV6 = new IPEndPoint(IPAddress.IPv6Any, port);
        if (Socket.OSSupportsIPv6)
        {
            Socket? dual = null;
            try
            {
                dual = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
                AllowRebindDuringTimeWait(dual);
                dual.Bind(anyV6);
                dual.Listen(backlog);
                return dual;
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
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        return BindAndListen(socket, anyV4, backlog, anyV4.ToString());
    }

    private static Socket BindAndListen(Socket socket, IPEndPoint endpoint, int backlog, string shownAs)
    {
        try
        {
            AllowRebindDuringTimeWait(socket);
            socket.Bind(endpoint);
            socket.Listen(backlog);
            return socket;
        }
        catch (SocketException exception)
        {
            socket.Dispose();
            throw CannotListen(shownAs, exception);
        }
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
