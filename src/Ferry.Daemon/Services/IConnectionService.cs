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
}
