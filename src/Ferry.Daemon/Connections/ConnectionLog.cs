using Ferry.Daemon.Logging;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Connections;

/// <summary>
/// The lines a listener's connections log, each naming the listener: the open line (Debug, or
/// Info with <c>Logging:OpenLines</c>), the close line (Info), a failed TLS handshake, an
/// unexpected error, and at Debug what the client says. Which levels are written is asked once,
/// when the listener starts, not per connection (about 270 instructions of a connection's
/// 12,000): ferryd reads its log settings at start only.
/// </summary>
internal sealed partial class ConnectionLog(ILogger logger, LoggedName listener, LogLevel openLineLevel)
{
    private readonly bool _opens = logger.IsEnabled(openLineLevel);
    private readonly bool _closes = logger.IsEnabled(LogLevel.Information);
    private readonly bool _clientSays = logger.IsEnabled(LogLevel.Debug);

    public void Opened(string peer, long connectionId)
    {
        if (_opens)
            Log.ConnectionOpened(logger, openLineLevel, peer, listener, connectionId);
    }

    /// <param name="detail">What the service adds (forward: the upstream and which side closed first); null for nothing.</param>
    public void Closed(string peer, long connectionId, CloseReason reason, long bytesIn, long bytesOut, long durationMs, string? detail)
    {
        if (_closes)
            Log.ConnectionClosed(logger, peer, listener, connectionId, reason, bytesIn, bytesOut, durationMs, detail);
    }

    public void Failed(Exception exception, string peer, string connectionId) =>
        Log.ConnectionFailed(logger, exception, peer, listener.Text, connectionId);

    public void HandshakeFailed(string peer, string reason) => HandshakeFailed(logger, peer, listener.Text, reason);

    /// <summary>
    /// The Debug log of what the client says, or null. Apart from the lambda it returns: a method
    /// that captures <paramref name="peer"/> allocates its closure on entry, whether the lambda is
    /// made or not.
    /// </summary>
    public ReceivedLineLog? ClientSays(string peer) => _clientSays ? ClientSaysOf(peer) : null;

    private ReceivedLineLog ClientSaysOf(string peer) => new(text => Log.ClientSays(logger, peer, text));

    [LoggerMessage(EventId = 32, Level = LogLevel.Warning, Message = "TLS handshake with {Peer} on {Listener} failed: {Reason}")]
    private static partial void HandshakeFailed(ILogger logger, string peer, string listener, string reason);
}
