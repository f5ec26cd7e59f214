using System.Net;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// What per-source limits count against: an IPv4 address or IPv6 /64 (<see cref="SourceLimits.SourceOf"/>)
/// for TCP and UDP peers, the peer's user for a Unix-domain socket's.
/// </summary>
internal readonly record struct PeerSource(IPAddress? Address, uint UserId)
{
    public static PeerSource Of(IPAddress address) => new(address, 0);

    public static PeerSource OfUser(uint userId) => new(null, userId);

    public override string ToString() => Address?.ToString() ?? $"uid {UserId}";
}
