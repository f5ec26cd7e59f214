namespace Ferry.Client.Bench;

/// <summary>How <c>ferry bench</c> drives its sockets.</summary>
internal enum BenchEngine
{
    /// <summary>Epoll where it applies (Linux; closed-loop pingpong, bulk and connect), async otherwise.</summary>
    Auto,

    /// <summary>One thread, one epoll set, non-blocking syscalls: the cheapest client per message.</summary>
    Epoll,

    /// <summary>An async loop per connection over .NET sockets: every mode, every platform.</summary>
    Async,
}
