namespace Ferry.Daemon.Transport;

/// <summary>
/// How much a connection may move without ever waiting before it steps aside
/// (<see cref="EpollLoop.YieldAsync"/>: behind the other events of its loop): a client that
/// streams as fast as loopback allows must not keep the epoll thread, and every other connection
/// on it, to itself. The reader, the writer and a relay each count their own bytes against it.
/// </summary>
internal static class FairShare
{
    public const long Bytes = 1024 * 1024;
}
