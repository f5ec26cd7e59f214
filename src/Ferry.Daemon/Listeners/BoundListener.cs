using System.Net;
using System.Net.Sockets;
using Ferry.Platform.Net;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// A listener whose socket is bound (and listening, for a stream): the settings it came from,
/// the real endpoint (port 0 resolved), the socket file it made (a <c>unix:</c> listener's),
/// and the counters its connections or datagrams update.
/// </summary>
internal sealed class BoundListener(ListenerSettings settings, Socket socket, string? createdFile = null)
{
    public ListenerSettings Settings { get; } = settings;

    public ListenerSpec Spec => Settings.Spec;

    /// <summary>
    /// The listening socket; its <see cref="RunningListener"/> accepts on it and closes it when it
    /// stops. Replaced only by a reload's rollback, with one bound to the same endpoint.
    /// </summary>
    public Socket Socket { get; private set; } = socket;

    /// <summary>The socket file ferryd made for it (removed at <see cref="Close"/>); null when none, or systemd's.</summary>
    public string? CreatedFile { get; } = createdFile;

    /// <summary>An <see cref="IPEndPoint"/>, or the <see cref="UnixDomainSocketEndPoint"/> of a unix: listener.</summary>
    public EndPoint EndPoint { get; } = socket.LocalEndPoint!;

    public void Rebound(Socket socket) => Socket = socket;

    public string Service => Spec.Service;

    public ListenerTransport Transport => Spec.Transport;

    /// <summary>Its counts; shared with the listener it replaced in a reload (<see cref="ContinueCounting"/>).</summary>
    public ListenerCounters Counters { get; private set; } = new();

    /// <summary>What a udp: listener's datagrams did; shared like <see cref="Counters"/>.</summary>
    public DatagramCounters Datagrams { get; private set; } = new();

    /// <summary>Before it accepts: counts on from where <paramref name="predecessor"/>, which it replaces, got.</summary>
    public void ContinueCounting(BoundListener predecessor)
    {
        Counters = predecessor.Counters;
        Datagrams = predecessor.Datagrams;
    }

    /// <summary>
    /// The listener label of its metrics: the name it has in the config file, else SERVICE-PORT
    /// ("echo-7"; "echo-udp-7", "echo-unix:/run/echo.sock"); the sockets of a host name with two
    /// addresses share it.
    /// </summary>
    public string Label => field ??= Spec.Name ?? Transport switch
    {
        ListenerTransport.Unix => $"{Spec.Service}-{Address}",
        ListenerTransport.Udp => $"{Spec.Service}-udp-{((IPEndPoint)EndPoint).Port}",
        _ => $"{Spec.Service}-{((IPEndPoint)EndPoint).Port}",
    };

    /// <summary>Where it listens, as written in --listen: "127.0.0.1:7", "udp:[::1]:7", "unix:/run/ferry/chat.sock".</summary>
    public string Address => field ??= Transport == ListenerTransport.Unix ? Spec.FormatAddress() : AddressOf(Transport, (IPEndPoint)EndPoint);

    public static string AddressOf(ListenerTransport transport, IPEndPoint endpoint) =>
        (transport == ListenerTransport.Udp ? "udp:" : "") + endpoint;

    /// <summary>How logs and the startup line name this listener, e.g. "echo 127.0.0.1:7".</summary>
    public string Name => $"{Spec.Service} {Address}";

    /// <summary>Closes the socket, and removes the socket file it made (a unix: listener's) so no client finds a dead one.</summary>
    public void Close()
    {
        Socket.Dispose();
        if (CreatedFile is not null)
            SocketFiles.Remove(CreatedFile);
    }
}
