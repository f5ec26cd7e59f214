namespace Ferry.Bench.Epoll;

/// <summary>What a non-blocking receive of an <see cref="EpollConnection"/> got to.</summary>
internal enum ExchangeStep
{
    /// <summary>Nothing more to do until epoll reports the socket ready.</summary>
    Waiting,

    /// <summary>Everything sent is back, every byte checked.</summary>
    Echoed,

    /// <summary>The server closed the connection before echoing everything.</summary>
    PeerClosed,

    /// <summary>A socket error; <see cref="EpollConnection.Error"/> has the errno.</summary>
    Failed,
}
