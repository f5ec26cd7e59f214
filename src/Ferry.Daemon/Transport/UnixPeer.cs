using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Transport;

/// <summary>
/// A peer of a Unix-domain socket: it has no address worth the name (a client's socket is
/// unbound), so it is known by the credentials the kernel recorded at connect (SO_PEERCRED).
/// </summary>
internal sealed class UnixPeer(PeerCredentials credentials) : EndPoint
{
    public PeerCredentials Credentials { get; } = credentials;

    public override AddressFamily AddressFamily => AddressFamily.Unix;

    /// <summary>The peer of an accepted Unix-domain socket, or null when the descriptor is not one.</summary>
    public static UnixPeer? Of(int descriptor) => UnixSocketCalls.PeerOf(descriptor) is { } credentials ? new UnixPeer(credentials) : null;

    /// <summary>How logs and the status name it: "pid 4242 uid 1000 gid 1000".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"pid {Credentials.ProcessId} uid {Credentials.UserId} gid {Credentials.GroupId}");
}
