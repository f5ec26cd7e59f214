using System.Net;
using Ferry.Daemon.Transport;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Connections;

/// <summary>
/// One open connection as its listener keeps it: the transport, its listener's close request, the byte
/// counts of its layers, and what the once-a-second sweep last saw of them, so idle and
/// first-byte timeouts cost nothing per byte.
/// </summary>
internal sealed class TrackedConnection(SocketConnection context, string peer, Listeners.PeerSource? source, long acceptedAt,
    CancellationToken closeRequested)
{
    private int _expired = -1;
    private IByteCounts _traffic = context;

    public SocketConnection Context { get; } = context;

    /// <summary>Fired when the listener or the server stops: the service should finish what it has in flight and return.</summary>
    public CancellationToken CloseRequested { get; } = closeRequested;

    /// <summary>Where its <see cref="ConnectionSet"/> keeps it, -1 once removed; touched only under the set's lock.</summary>
    public int Slot { get; set; } = -1;

    public string Peer { get; } = peer;

    /// <summary>The source counted against per-source limits; null when exempt.</summary>
    public Listeners.PeerSource? Source { get; } = source;

    public Task Served { get; set; } = Task.CompletedTask;

    /// <summary>What the service sees of it, once the service runs (after a TLS handshake): its description for the status.</summary>
    public Services.ServiceConnection? Serving { get; set; }

    /// <summary>When it was accepted (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long AcceptedAt { get; } = acceptedAt;

    /// <summary>What crossed the socket: the idle timeout's measure (a TLS handshake is activity too).</summary>
    public IByteCounts Wire => Context;

    /// <summary>
    /// What the service's pipes carried: the socket's bytes, or the decrypted stream's on a TLS
    /// listener. The close line's and the first-byte timeout's measure.
    /// </summary>
    public IByteCounts Traffic
    {
        get => Volatile.Read(ref _traffic);
        set => Volatile.Write(ref _traffic, value);
    }

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
