using System.Net;
using Ferry.Daemon.Transport;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Whether a listener admits one accepted peer, decided from the peer's address, the socket's
/// descriptor number and the listener's open count, before a byte of the peer's is read or
/// anything is allocated for it. The rules run cheapest and most final first: descriptor reserve,
/// allow/deny, the listener's cap, then the per-source cap and rate (the one rule that keeps
/// state: admitting counts the connection against its source, see <see cref="SourceLimits"/>).
/// </summary>
/// <remarks>
/// Descriptors: Linux hands out the lowest free number, so an accepted socket numbered inside
/// the reserve means the process is nearly out. While short of them (<paramref name="descriptorsShort"/>)
/// the line moves down by another reserve's worth, so a load that churns right at the limit
/// makes one long episode instead of flapping in and out of it.
/// </remarks>
internal sealed class Admission(ListenerPolicy policy, string service, SourceLimits sources, long? descriptorLimit)
{
    private readonly long _refuseFromDescriptor =
        descriptorLimit is long limit ? limit - DescriptorLimit.Reserve(limit) : long.MaxValue;

    private readonly long _lowWaterMark =
        descriptorLimit is long limit ? limit - 2 * DescriptorLimit.Reserve(limit) : long.MaxValue;

    /// <param name="peer">An <see cref="IPEndPoint"/>, or a <see cref="UnixPeer"/> on a unix: listener.</param>
    public AdmissionVerdict Decide(EndPoint peer, long descriptor, long open, bool descriptorsShort = false)
    {
        if (descriptor >= (descriptorsShort ? _lowWaterMark : _refuseFromDescriptor))
        {
            return AdmissionVerdict.Refuse(RefusalReason.OutOfDescriptors,
                $"out of file descriptors (descriptor {descriptor}, limit {descriptorLimit}, {DescriptorLimit.Reserve(descriptorLimit ?? 0)} kept in reserve)");
        }
        if (NotAllowed(peer) is { } why)
            return AdmissionVerdict.Refuse(RefusalReason.NotAllowed, why);
        if (policy.MaxConnections > 0 && open >= policy.MaxConnections)
            return AdmissionVerdict.Refuse(RefusalReason.ListenerFull, $"too many connections (maxConnections {policy.MaxConnections})");
        PeerSource? source = SourceOf(peer);
        if (source is { } counted && sources.TryOpen(counted) is { } limited)
        {
            return AdmissionVerdict.Refuse(limited, limited == RefusalReason.SourceFull
                ? $"too many connections from {counted} (maxConnectionsPerIp {policy.MaxConnectionsPerIp})"
                : $"too many new connections from {counted} (connectionRate {policy.ConnectionRate}/s, burst {policy.ConnectionBurst})");
        }
        return AdmissionVerdict.Admit(source);
    }

    /// <summary>Why allow/deny (or allowUid/allowGid) keep this peer out, or null.</summary>
    private string? NotAllowed(EndPoint peer)
    {
        if (peer is UnixPeer unix)
            return policy.Unix?.Admits(unix.Credentials) == false ? "not allowed by the listener's allowUid/allowGid lists" : null;
        if (policy.Admits(((IPEndPoint)peer).Address))
            return null;
        return policy.AllowIsLoopbackDefault
            ? $"not allowed: {service} serves loopback peers only unless allow= is set"
            : "not allowed by the listener's allow/deny lists";
    }

    /// <summary>What the per-source limits count this peer against; null when exempt.</summary>
    private PeerSource? SourceOf(EndPoint peer)
    {
        if (peer is UnixPeer unix)
            return UnixSocketPolicy.IsExempt(unix.Credentials.UserId) ? null : PeerSource.OfUser(unix.Credentials.UserId);
        var address = ((IPEndPoint)peer).Address;
        return policy.Exempt.Contains(address) ? null : PeerSource.Of(SourceLimits.SourceOf(address));
    }
}
