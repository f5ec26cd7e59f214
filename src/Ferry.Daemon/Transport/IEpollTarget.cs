namespace Ferry.Daemon.Transport;

/// <summary>Something registered with an <see cref="EpollLoop"/>: told, on the loop's thread, what epoll reported for it.</summary>
internal interface IEpollTarget
{
    void OnEvents(uint events, EpollLoop loop);
}
