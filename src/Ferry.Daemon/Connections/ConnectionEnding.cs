using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Connections;

/// <summary>
/// The one place a connection's <see cref="CloseReason"/> is decided, from everything that may
/// have a say: what the service returned (its protocol's ending: peer closed, quit, slow consumer),
/// what it threw instead, whether ferryd had asked it to stop, and whether the timeout sweep
/// closed it.
/// </summary>
internal static class ConnectionEnding
{
    /// <param name="returned">The service's own ending, or null when it threw.</param>
    /// <param name="thrown">What the service threw, or null when it returned.</param>
    /// <param name="stopping">ferryd had asked the connection to finish (shutdown, listener removed).</param>
    /// <param name="expired">Why the sweep closed it, if it did: then that is why, whatever the service saw next.</param>
    public static CloseReason Decide(CloseReason? returned, Exception? thrown, bool stopping, CloseReason? expired)
    {
        if (expired is { } timeout)
            return timeout;
        if (returned is { } reason)
            return reason;
        return thrown switch
        {
            OperationCanceledException when stopping => CloseReason.Shutdown,
            ConnectionAbortedException => CloseReason.Aborted,
            // ConnectionResetException and broken pipes: the peer is gone.
            IOException => CloseReason.PeerReset,
            _ => CloseReason.Error,
        };
    }

    /// <summary>An ending worth logging with its exception: a bug or a failure nobody expected.</summary>
    public static bool IsUnexpected(CloseReason reason, Exception? thrown) => reason == CloseReason.Error && thrown is not null;
}
