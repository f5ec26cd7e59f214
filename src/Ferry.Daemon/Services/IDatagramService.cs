namespace Ferry.Daemon.Services;

/// <summary>
/// A protocol that answers datagrams (a <c>udp:</c> listener): each one on its own, the reply to
/// its sender, nothing kept between them. Called on the socket thread that received the datagram,
/// so it never blocks; one listener's datagrams are answered by one thread at a time.
/// </summary>
internal interface IDatagramService : IListenerService
{
    /// <summary>
    /// Answers the datagram in the first <paramref name="length"/> bytes of <paramref name="datagram"/>
    /// from <paramref name="peer"/> by writing its reply over it (the buffer holds any datagram);
    /// returns the reply's length, or -1 for no reply now. Whether a reply larger than its request
    /// may go is the listener's rule, not the service's.
    /// </summary>
    int Answer(Span<byte> datagram, int length, DatagramPeer peer);
}
