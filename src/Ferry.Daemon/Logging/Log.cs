using Ferry.Daemon.Connections;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Logging;

/// <summary>ferryd's log messages, each with a stable event id: source-generated, but for a connection's open and close lines.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "listening {Service} {Endpoint}{Note}")]
    private static partial void Listening(ILogger logger, string service, string endpoint, string note);

    /// <summary>The startup line of a listener; one that serves loopback peers only by default says so.</summary>
    public static void Listening(ILogger logger, Listeners.BoundListener listener) =>
        Listening(logger, listener.Service, listener.Address, Note(listener.Settings));

    private static string Note(Listeners.ListenerSettings listener)
    {
        var notes = new List<string>();
        if (listener.Policy.AllowIsLoopbackDefault)
            notes.Add("loopback peers only: allow= is not set");
        if (listener.Service.Traits.AmplifiesDatagrams && listener.Policy.Datagrams is { Amplify: false })
            notes.Add("a reply larger than its request is not sent: amplify= is off");
        return notes.Count == 0 ? "" : $" ({string.Join("; ", notes)})";
    }

    [LoggerMessage(EventId = 9, Level = LogLevel.Error, Message = "status socket: a request failed: {Reason}")]
    public static partial void StatusFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "metrics at {Url}")]
    public static partial void MetricsListening(ILogger logger, string url);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "stopping: no new connections, {Active} open, deadline {DeadlineSeconds} s")]
    public static partial void Stopping(ILogger logger, long active, double deadlineSeconds);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "inherited sockets that match no listener, closed: {Sockets}")]
    public static partial void UnusedInheritedSockets(ILogger logger, string sockets);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "stopped")]
    public static partial void Stopped(ILogger logger);

    // A connection's open and close lines, written to UTF-8 with no string between (ConnectionLines).
    // Not checked against the level here: Connections.ConnectionLog asks once per listener, and
    // the logger filters by level again anyway.
    private static readonly EventId Opened = new(10, "ConnectionOpened");
    private static readonly EventId Closed = new(11, "ConnectionClosed");

    /// <param name="level">Debug, or Info with <c>Logging:OpenLines</c> (<see cref="LogSettings.OpenLineLevel"/>).</param>
    public static void ConnectionOpened(ILogger logger, LogLevel level, string peer, LoggedName listener, long connectionId) =>
        logger.Log(level, Opened, new ConnectionLines.Opened(peer, listener, connectionId), null, ConnectionLines.OpenedFormatter);

    /// <param name="detail">What the service adds (forward: the upstream and which side closed first); null for nothing.</param>
    public static void ConnectionClosed(ILogger logger, string peer, LoggedName listener, long connectionId,
        CloseReason reason, long bytesIn, long bytesOut, long durationMs, string? detail) =>
        logger.Log(LogLevel.Information, Closed, new ConnectionLines.Closed(peer, listener, connectionId, reason, bytesIn, bytesOut, durationMs, detail),
            null, ConnectionLines.ClosedFormatter);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "client {Peer} says: {Text}")]
    public static partial void ClientSays(ILogger logger, string peer, string text);

    [LoggerMessage(EventId = 13, Level = LogLevel.Error, Message = "connection {Peer} on {Listener} [{ConnectionId}] failed")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception, string peer, string listener, string connectionId);
}
