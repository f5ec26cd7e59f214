namespace Ferry.Daemon.Services;

/// <summary>
/// What a service can tell about one of its connections for <c>ferryd status --connections</c>,
/// read from the status thread while the connection runs: each value is one read of a field the
/// service keeps anyway. A service says only what applies to it.
/// </summary>
internal interface IConnectionDescription
{
    /// <summary>chat: the room the client is in.</summary>
    string? Room => null;

    /// <summary>forward: the upstream the client is paired with.</summary>
    string? Upstream => null;

    /// <summary>exec: the program's process id.</summary>
    int? ChildPid => null;

    /// <summary>chat, broker: bytes queued for the client that the transport has not yet taken.</summary>
    long QueuedBytes => 0;
}
