namespace Ferry.Client.Bench;

/// <summary>What a non-blocking step of an <see cref="EchoExchange"/> got to.</summary>
internal enum ExchangeStep
{
    /// <summary>Nothing more to do until epoll reports the socket ready.</summary>
    Waiting,

    /// <summary>The whole message is back, every byte checked.</summary>
    Echoed,

    /// <summary>The server closed the connection before echoing everything.</summary>
    PeerClosed,

    /// <summary>A socket error; <see cref="EchoExchange.Error"/> has the errno.</summary>
    Failed,
}
