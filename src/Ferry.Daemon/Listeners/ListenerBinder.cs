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

    /// <param name="reusable">
    /// Sockets of a configuration being replaced: one on the exact endpoint a listener needs is
    /// taken over instead of bound; the rest are closed before anything is bound.
    /// </param>
    public static async Task<IReadOnlyList<BoundListener>> BindAllAsync(IEnumerable<ListenerSettings> listeners,
        SocketActivation inherited, CancellationToken cancellation, ReusableSockets? reusable = null)
    {
        reusable ??= ReusableSockets.None;
        // First where each listener listens, and which of those sockets exist already...
        var plans = new List<(ListenerSettings Listener, Socket? Inherited, IPEndPoint[] EndPoints, BoundListener?[] Reused)>();
        foreach (var listener in listeners)
        {
            if (inherited.Take(listener.Spec) is { } socket)
            {
                plans.Add((listener, socket, [], []));
                continue;
            }
            if (listener.Spec.Transport == ListenerTransport.Unix)
            {
                plans.Add((listener, null, [], [reusable.Take(listener.Spec.FormatAddress())]));
                continue;
            }
            var endpoints = await EndPointsAsync(listener.Spec, cancellation);
            plans.Add((listener, null, endpoints,
                endpoints.Select(e => e.Port == 0 ? null : reusable.Take(BoundListener.AddressOf(listener.Spec.Transport, e))).ToArray()));
        }
        reusable.CloseRemaining();

        // ...then bind the others.
        var bound = new List<BoundListener>();
        try
        {
            foreach (var (listener, inheritedSocket, endpoints, reused) in plans)
            {
                if (inheritedSocket is not null)
                {
                    bound.Add(new BoundListener(listener, inheritedSocket));
                    continue;
                }
                if (listener.Spec.Transport == ListenerTransport.Unix)
                {
                    // A socket taken over keeps whatever file its predecessor had: its own, or systemd's.
                    bound.Add(reused[0] is { } predecessor ? new BoundListener(listener, predecessor.Socket, predecessor.CreatedFile)
                        : new BoundListener(listener, UnixSocketFile.Bind(listener), UnixSocketFile.FileOf(listener.Spec)));
                    continue;
                }
                foreach (var socket in BindEach(listener.Spec, endpoints, reused))
                    bound.Add(new BoundListener(listener, socket));
            }
            // Only once every listener is bound, so a rejected reload leaves the files as they were:
            // a socket taken over from a listener whose file ferryd made gets its new mode and owner.
            foreach (var listener in bound.Where(b => b.Transport == ListenerTransport.Unix && b.CreatedFile is not null && reusable.WasTaken(b.Socket)))
                UnixSocketFile.Apply(listener.Settings, listener.CreatedFile!);
            return bound;
        }
        catch
        {
            foreach (var listener in bound.Where(b => !reusable.WasTaken(b.Socket)))
                listener.Close();
            throw;
        }
    }

    /// <summary>
    /// The sockets of one endpoint that is not a listener's (the metrics endpoint), bound as a
    /// listener's are: every address its host resolves to, on one port. All or none.
    /// </summary>
    public static async Task<Socket[]> BindAsync(ListenerSpec spec, CancellationToken cancellation)
    {
        var endpoints = await EndPointsAsync(spec, cancellation);
        var sockets = new List<Socket>();
        try
        {
            foreach (var socket in BindEach(spec, endpoints, new BoundListener?[endpoints.Length]))
                sockets.Add(socket);
            return [.. sockets];
        }
        catch
        {
            foreach (var socket in sockets)
                socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A host name may resolve to several addresses (localhost: 127.0.0.1 and ::1); like nginx,
    /// listen on each, all on the port the first one got (port 0: the one the kernel gave it).
    /// A socket of <paramref name="reused"/> is taken instead of binding its address. Yields each
    /// as it is bound, so the caller holds those to close if a later one fails.
    /// </summary>
    private static IEnumerable<Socket> BindEach(ListenerSpec spec, IPEndPoint[] endpoints, BoundListener?[] reused)
    {
        int port = spec.Port;
        for (int i = 0; i < endpoints.Length; i++)
        {
            var socket = reused[i]?.Socket ?? Bind(spec, new IPEndPoint(endpoints[i].Address, port), dualMode: IsEveryInterface(spec, endpoints[i]));
            yield return socket;
            port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        }
    }

    /// <summary>
    /// Where a listener listens: every address its host resolves to, or for every interface one
    /// dual-stack [::] (0.0.0.0 where IPv6 is off); the port as written (0: the kernel picks).
    /// </summary>
    public static async Task<IPEndPoint[]> EndPointsAsync(ListenerSpec spec, CancellationToken cancellation)
    {
        if (spec.Host is null)
            return [new IPEndPoint(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, spec.Port)];
        return (await ResolveAsync(spec, cancellation)).Select(address => new IPEndPoint(address, spec.Port)).ToArray();
    }

    private static bool IsEveryInterface(ListenerSpec spec, IPEndPoint endpoint) =>
        spec.Host is null && endpoint.Address.Equals(IPAddress.IPv6Any);

    /// <summary>Binds exactly what <paramref name="listener"/> had again (a reload's rollback).</summary>
    public static Socket Rebind(BoundListener listener) => listener.Spec.Transport == ListenerTransport.Unix
        ? UnixSocketFile.Bind(listener.Settings)
        : Bind(listener.Spec, (IPEndPoint)listener.EndPoint, dualMode: IsEveryInterface(listener.Spec, (IPEndPoint)listener.EndPoint));

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

    private static Socket Bind(ListenerSpec spec, IPEndPoint endpoint, bool dualMode = false)
    {
        bool datagrams = spec.Transport == ListenerTransport.Udp;
        var socket = datagrams
            ? new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
            : new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (dualMode)
                socket.DualMode = true;
            // SO_REUSEADDR lets a restarted ferryd bind while old connections sit in TIME_WAIT.
            // Set raw: .NET's ReuseAddress also sets SO_REUSEPORT on Linux, which would let a
            // second ferryd share a busy port instead of being refused. Never on UDP, which has no
            // TIME_WAIT and where SO_REUSEADDR lets a second socket share the port silently.
            if (!datagrams)
                socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            socket.Bind(endpoint);
            if (!datagrams)
                socket.Listen(Backlog);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new StartupException(ExitCodes.CannotListen,
                $"cannot listen on {BoundListener.AddressOf(spec.Transport, endpoint)} ({Label(spec)}): {Describe(ex.SocketErrorCode, endpoint.Port)}");
        }
    }

    /// <summary>How a message names the listener: its service, and its name where it has one (from the config file).</summary>
    public static string Label(ListenerSpec spec) => spec.Name is null ? spec.Service : $"listener {spec.Name}, {spec.Service}";

    private static string Describe(SocketError error, int port) => error == SocketError.AccessDenied && port < 1024
        ? "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        : SocketErrorText.Describe(error);
}
