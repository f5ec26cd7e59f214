using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Listening sockets inherited from systemd (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES; fds
/// from 3). A listener takes the inherited socket whose name (FileDescriptorName= in the
/// .socket unit) equals the listener's name; failing that, the one bound to the listener's
/// endpoint: of its kind (ListenStream= for TCP and unix:, ListenDatagram= for udp:), on the same
/// port and the same address unless the listener is for every interface, or on the same path.
/// Inherited fds are marked close-on-exec and the variables removed, so no child process
/// inherits them.
/// </summary>
internal sealed class SocketActivation
{
    private const int FirstFd = 3;
    private readonly List<(string Name, Socket Socket)> _available;

    private SocketActivation(List<(string Name, Socket Socket)> available) => _available = available;

    public static SocketActivation None { get; } = new([]);

    public int Remaining => _available.Count;

    public IEnumerable<string> RemainingNames => _available.Select(a => $"{a.Name} ({a.Socket.LocalEndPoint})");

    public static SocketActivation FromEnvironment()
    {
        string? pid = Environment.GetEnvironmentVariable("LISTEN_PID");
        string? count = Environment.GetEnvironmentVariable("LISTEN_FDS");
        if (pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture)
            || !int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out int fds) || fds <= 0)
            return None;
        string[] names = (Environment.GetEnvironmentVariable("LISTEN_FDNAMES") ?? "").Split(':');
        foreach (string variable in new[] { "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES" })
            Environment.SetEnvironmentVariable(variable, null);

        var available = new List<(string, Socket)>();
        for (int i = 0; i < fds; i++)
        {
            int fd = FirstFd + i;
            DescriptorCalls.SetCloseOnExec(fd);
            var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
            available.Add((i < names.Length ? names[i] : "", socket));
        }
        return new SocketActivation(available);
    }

    /// <summary>The inherited socket for this listener, or null to bind one.</summary>
    public Socket? Take(ListenerSpec spec)
    {
        int index = _available.FindIndex(a => spec.Name is not null && a.Name == spec.Name);
        if (index >= 0 && !IsOfKind(spec, _available[index].Socket))
        {
            string kind = _available[index].Socket.SocketType == SocketType.Dgram ? "a datagram socket (ListenDatagram=)"
                : _available[index].Socket.AddressFamily == AddressFamily.Unix ? "a Unix stream socket (ListenStream=/PATH)" : "a TCP socket (ListenStream=PORT)";
            throw new Hosting.StartupException(Hosting.ExitCodes.CannotListen,
                $"cannot listen on {spec.FormatAddress()} ({spec.Service}): the inherited socket '{spec.Name}' is {kind}, which a {spec.Transport.ToString().ToLowerInvariant()} listener cannot serve");
        }
        if (index < 0)
            index = _available.FindIndex(a => Serves(spec, a.Socket));
        if (index < 0)
            return null;
        var socket = _available[index].Socket;
        _available.RemoveAt(index);
        return socket;
    }

    /// <summary>A datagram socket for udp:, a Unix stream socket for unix:, a TCP one for the rest.</summary>
    private static bool IsOfKind(ListenerSpec spec, Socket socket) =>
        socket.SocketType == (spec.Transport == ListenerTransport.Udp ? SocketType.Dgram : SocketType.Stream)
        && (socket.AddressFamily == AddressFamily.Unix) == (spec.Transport == ListenerTransport.Unix);

    private static bool Serves(ListenerSpec spec, Socket socket)
    {
        if (!IsOfKind(spec, socket))
            return false;
        if (spec.Transport == ListenerTransport.Unix)
            return socket.LocalEndPoint is UnixDomainSocketEndPoint path && PathOf(path) == spec.Path;
        return socket.LocalEndPoint is IPEndPoint bound && bound.Port == spec.Port
            && (spec.Host is null || (IPAddress.TryParse(spec.Host, out var address) && address.Equals(bound.Address)));
    }

    /// <summary>A bound Unix socket's path as written in unix:PATH (an abstract name with '@' for its leading NUL).</summary>
    private static string PathOf(UnixDomainSocketEndPoint endpoint)
    {
        string path = endpoint.ToString();
        return path.StartsWith('\0') ? "@" + path[1..] : path;
    }

    public void CloseRemaining()
    {
        foreach (var (_, socket) in _available)
            socket.Dispose();
        _available.Clear();
    }
}
