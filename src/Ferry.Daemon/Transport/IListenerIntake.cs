namespace Ferry.Daemon.Transport;

/// <summary>
/// How a listener takes in work from its socket on the epoll loops: an <see cref="Acceptor"/>
/// accepts connections, a <see cref="DatagramSocket"/> receives datagrams. Stopped, the socket
/// stays open (peers wait in its backlog, datagrams in its receive buffer).
/// </summary>
internal interface IListenerIntake
{
    void Start();

    void Stop();
}
