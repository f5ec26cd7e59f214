using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Services;

/// <summary>
/// A protocol served on a listener. One instance serves every connection of its listener,
/// so per-connection state lives in locals of <see cref="RunAsync"/>.
/// </summary>
internal interface IConnectionService
{
    /// <summary>
    /// Serves one connection until the peer leaves, the service is done, or
    /// <see cref="ServiceConnection.Stopping"/> fires; returns why it ended.
    /// May throw transport exceptions (reset, abort); the caller classifies them.
    /// </summary>
    ValueTask<CloseReason> RunAsync(ServiceConnection connection);

    /// <summary>
    /// True when <see cref="RunAsync"/> never blocks a thread (no file I/O, no waits) and does
    /// little work per read. The transport then runs it on the thread that received the data,
    /// which saves a thread hop per message; a service that could block must say false, or
    /// every connection sharing that socket thread would stall with it.
    /// </summary>
    bool NeverBlocks => false;
}
