namespace Ferry.Bench.Epoll;

/// <summary>What a mode does on the epoll engine's one loop (<see cref="EpollDriver"/>).</summary>
internal interface IEpollHandler
{
    /// <summary>What a connection still open at the run's deadline is charged with.</summary>
    string DeadlineError { get; }

    /// <summary>The connection's first step once the run starts.</summary>
    void Start(EpollConnection connection);

    /// <summary>Work before each wait (start idle connections, half-close once stopping); returns how long the wait may take, in ms.</summary>
    int BeforeWait();

    /// <summary>One readiness event of an open connection.</summary>
    void OnReady(EpollConnection connection, uint events);
}
