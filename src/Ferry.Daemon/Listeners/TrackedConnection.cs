using System.Net;
using Ferry.Daemon.Connections;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One open connection as its listener keeps it: the context, its close request, its byte
/// counters (which the service updates anyway) and what the once-a-second sweep last saw of
/// them, so idle and first-byte timeouts cost nothing per byte.
/// </summary>
internal sealed class TrackedConnection(ConnectionContext context, string peer, IPAddress? source, long acceptedAt)
{
    private int _expired = -1;

    public ConnectionContext Context { get; } = context;

    public ConnectionLifetime Lifetime { get; } = new();

    public ConnectionStats Stats { get; } = new();

    public string Peer { get; } = peer;

    /// <summary>The source counted against per-source limits; null when exempt.</summary>
    public IPAddress? Source { get; } = source;

    public Task Served { get; set; } = Task.CompletedTask;

    /// <summary>Set when the service starts (after a TLS handshake); the first-byte clock starts then.</summary>
    public long ServiceStartedAt { get; private set; }

    // Touched only by the sweep.
    public long LastBytes { get; set; }

    public long LastActivity { get; set; } = acceptedAt;

    /// <summary>Why the sweep closed it, if it did: reported as the connection's close reason.</summary>
    public CloseReason? Expired => Volatile.Read(ref _expired) is int reason and >= 0 ? (CloseReason)reason : null;

    public void ServiceStarted(long timestamp) => ServiceStartedAt = timestamp;

    public void Expire(CloseReason reason, string why)
    {
        Volatile.Write(ref _expired, (int)reason);
        Context.Abort(new ConnectionAbortedException(why));
    }
}
