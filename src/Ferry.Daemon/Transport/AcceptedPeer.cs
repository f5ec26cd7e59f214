using System.Net;

namespace Ferry.Daemon.Transport;

/// <summary>
/// A connection accept4 returned: its descriptor (non-blocking, close-on-exec, owned by whoever
/// takes it now), the peer (an <see cref="IPEndPoint"/>, or a <see cref="UnixPeer"/>), and the loop that accepted it, where it stays.
/// </summary>
internal readonly record struct AcceptedPeer(int Descriptor, EndPoint Peer, EpollLoop Loop);
