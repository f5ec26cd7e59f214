namespace Ferry.Daemon.Listeners;

/// <summary>Why a udp: listener did not answer a datagram (besides a service that never answers, discard).</summary>
internal enum DatagramDrop
{
    /// <summary>Its source is not let in by allow/deny (every UDP service is loopback only unless allow= says otherwise).</summary>
    NotAllowed,

    /// <summary>From port 0, or from another simple service's port (7, 13, 17, 19, 37): answering could start a loop (VU#417980).</summary>
    LoopPort,

    /// <summary>Its source is over its token bucket (rate=, burst=), or too many sources are being tracked.</summary>
    RateExceeded,

    /// <summary>The reply would be larger than the request, and amplify=on is not set.</summary>
    Amplification,

    /// <summary>A new client of a udp: forward, while maxSessions sessions are open.</summary>
    SessionsFull,

    /// <summary>forward could not open a session (out of descriptors, no route to the upstream...).</summary>
    SessionFailed,

    /// <summary>The socket would not take the reply (its send buffer full, or an error): UDP drops, a server never waits.</summary>
    SendFailed,
}
