using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Services;

/// <summary>
/// A protocol served on a listener. One instance serves every connection of its listener,
/// so per-connection state lives in locals of <see cref="RunAsync"/>. What ferryd needs to
/// know about it otherwise is in its <see cref="ServiceTraits"/>.
/// </summary>
internal interface IConnectionService : IListenerService
{
    /// <summary>
    /// Serves one connection until the peer leaves, the service is done, or
    /// <see cref="ServiceConnection.Stopping"/> fires; returns how its protocol ended.
    /// May throw transport exceptions (reset, abort); <see cref="ConnectionEnding"/> judges them.
    /// </summary>
    ValueTask<CloseReason> RunAsync(ServiceConnection connection);
}
