namespace Ferry.Bench;

/// <summary>How ferry-bench drives its sockets: the client style.</summary>
internal enum BenchEngine
{
    /// <summary>Epoll where it applies (Linux; closed-loop pingpong, bulk and connect), async otherwise.</summary>
    Auto,

    /// <summary>One thread, one epoll set, non-blocking syscalls: the cheapest client per message.</summary>
    Epoll,

    /// <summary>
    /// Blocking .NET sockets and threads, as ferry, socat and most real clients work: a thread
    /// per ping-pong connection (send, then wait in recv), a writer and a reader thread per bulk
    /// connection, a thread per connect loop.
    /// </summary>
    Threads,

    /// <summary>An async loop per connection over .NET sockets: every mode, every platform.</summary>
    Async,
}
