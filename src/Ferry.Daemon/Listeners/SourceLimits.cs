using System.Net;
using System.Net.Sockets;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Per-source accounting for one listener: open connections (maxConnectionsPerIp) and a
/// token bucket of new connections (connectionRate, connectionBurst), like xinetd's
/// per_source and cps but per source and recovering by itself. A source is an IPv4 address
/// or an IPv6 /64, since one host usually owns a whole /64 and could otherwise rotate; on a
/// unix: listener, the peer's user.
/// Entries exist only while a source holds connections or its bucket is refilling, so an
/// address that came once costs nothing after a few seconds (<see cref="Prune"/>).
/// </summary>
internal sealed class SourceLimits(ListenerPolicy policy, TimeProvider time)
{
    private readonly Dictionary<PeerSource, Entry> _sources = [];
    private readonly Lock _gate = new();

    public static IPAddress SourceOf(IPAddress peer)
    {
        peer = Ferry.Platform.Net.EndpointText.Unmapped(peer);
        if (peer.AddressFamily != AddressFamily.InterNetworkV6)
            return peer;
        byte[] bytes = peer.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    /// <summary>Counts a new connection from <paramref name="source"/>, or says why it may not have one.</summary>
    public RefusalReason? TryOpen(PeerSource source)
    {
        long now = time.GetTimestamp();
        lock (_gate)
        {
            if (!_sources.TryGetValue(source, out var entry))
            {
                entry = new Entry { Bucket = new TokenBucket(policy.ConnectionRate, policy.ConnectionBurst, now) };
                _sources[source] = entry;
            }
            if (policy.MaxConnectionsPerIp > 0 && entry.Open >= policy.MaxConnectionsPerIp)
                return RefusalReason.SourceFull;
            if (policy.ConnectionRate > 0 && !entry.Bucket.TryTake(time, now))
                return RefusalReason.RateExceeded;
            entry.Open++;
            return null;
        }
    }

    public void Close(PeerSource source)
    {
        lock (_gate)
        {
            if (_sources.TryGetValue(source, out var entry))
                entry.Open--;
        }
    }

    /// <summary>Forgets sources with nothing open and a full bucket; called by the listener's sweep.</summary>
    public void Prune()
    {
        long now = time.GetTimestamp();
        lock (_gate)
        {
            foreach (var (source, entry) in _sources)
            {
                if (entry.Open > 0)
                    continue;
                if (policy.ConnectionRate <= 0 || entry.Bucket.IsFull(time, now))
                    _sources.Remove(source);
            }
        }
    }

    private sealed class Entry
    {
        public int Open;
        public required TokenBucket Bucket;
    }
}
