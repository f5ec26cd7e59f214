namespace Ferry.Daemon.Listeners;

/// <summary>What a listener's socket is: written as a prefix of its endpoint (none, <c>udp:</c>, <c>unix:</c>).</summary>
internal enum ListenerTransport
{
    /// <summary>TCP over IPv4 and IPv6: <c>[ADDR:]PORT</c> (or <c>tcp:[ADDR:]PORT</c>).</summary>
    Tcp,

    /// <summary>UDP: <c>udp:[ADDR:]PORT</c>, one socket for every peer, each datagram answered on its own.</summary>
    Udp,

    /// <summary>A Unix-domain stream socket: <c>unix:/PATH</c>, or <c>unix:@NAME</c> in the abstract namespace.</summary>
    Unix,
}
