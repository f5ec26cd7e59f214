using System.Net;
using System.Net.Sockets;
using Ferry.Daemon.Hosting;
using Ferry.Platform.Net;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Binds every listener's socket before the server starts, so a busy port or a bad address
/// is reported naming the listener that failed, and nothing is served until all are bound.
/// </summary>
internal static class ListenerBinder
{
    public const int Backlog = 512;

    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    public static async Task<IReadOnlyList<BoundListener>> BindAllAsync(IEnumerable<ListenerSettings> listeners,
        SocketActivation inherited, CancellationToken cancellation)
    {
        var bound = new List<BoundListener>();
        try
        {
            foreach (var listener in listeners)
            {
                if (inherited.Take(listener.Spec) is { } socket)
                    bound.Add(new BoundListener(listener, socket));
                else
                    bound.AddRange(await BindAsync(listener, cancellation));
            }
            return bound;
        }
        catch
        {
            foreach (var listener in bound)
                listener.Socket.Dispose();
            throw;
        }
    }

    private static async Task<IReadOnlyList<BoundListener>> BindAsync(ListenerSettings listener, CancellationToken cancellation)
    {
        var spec = listener.Spec;
        if (spec.Host is null)
            return [new BoundListener(listener, BindEveryInterface(spec))];

        var addresses = await ResolveAsync(spec, cancellation);
        var bound = new List<BoundListener>();
        int port = spec.Port;
        foreach (var address in addresses)
        {
            // A host name may resolve to several addresses (localhost: 127.0.0.1 and ::1);
            // like nginx, listen on each, all on the port the first one got.
            var socket = Bind(spec, new IPEndPoint(address, port));
            bound.Add(new BoundListener(listener, socket));
            port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        }
        return bound;
    }

    private static async Task<IPAddress[]> ResolveAsync(ListenerSpec spec, CancellationToken cancellation)
    {
        if (IPAddress.TryParse(spec.Host, out var literal))
            return [literal];
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(spec.Host!, cancellation);
            if (addresses.Length > 0)
                return addresses.Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                    .Distinct().ToArray();
        }
        catch (SocketException)
        {
        }
        throw new StartupException(ExitCodes.CannotListen, $"cannot listen on {spec.FormatAddress()} ({Label(spec)}): unknown host '{spec.Host}'");
    }

    /// <summary>One dual-stack socket on [::] serves IPv4 and IPv6; 0.0.0.0 where IPv6 is off.</summary>
    private static Socket BindEveryInterface(ListenerSpec spec) =>
        Socket.OSSupportsIPv6
            ? Bind(spec, new IPEndPoint(IPAddress.IPv6Any, spec.Port), dualMode: true)
            : Bind(spec, new IPEndPoint(IPAddress.Any, spec.Port));

    private static Socket Bind(ListenerSpec spec, IPEndPoint endpoint, bool dualMode = false)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (dualMode)
                socket.DualMode = true;
            // SO_REUSEADDR lets a restarted ferryd bind while old connections sit in TIME_WAIT.
            // Set raw: .NET's ReuseAddress also sets SO_REUSEPORT on Linux, which would let a
            // second ferryd share a busy port instead of being refused.
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            socket.Bind(endpoint);
            socket.Listen(Backlog);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new StartupException(ExitCodes.CannotListen,
                $"cannot listen on {endpoint} ({Label(spec)}): {Describe(ex.SocketErrorCode, endpoint.Port)}");
        }
    }

    /// <summary>How a message names the listener: its service, and its name where it has one (from the config file).</summary>
    private static string Label(ListenerSpec spec) => spec.Name is null ? spec.Service : $"listener {spec.Name}, {spec.Service}";

    private static string Describe(SocketError error, int port) => error == SocketError.AccessDenied && port < 1024
        ? "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        : SocketErrorText.Describe(error);
}
