namespace Ferry.Bench;

/// <summary>What carries the messages to the server.</summary>
internal enum BenchTransport
{
    /// <summary>TCP to HOST PORT (the default).</summary>
    Tcp,

    /// <summary>
    /// UDP to HOST PORT (<c>--udp</c>): each connection is a connected datagram socket, each
    /// message one datagram; an echo not back within the loss timeout is counted as lost.
    /// </summary>
    Udp,

    /// <summary>A Unix-domain stream socket at a path (<c>--unix PATH</c>).</summary>
    Unix,
}
