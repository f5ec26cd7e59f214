using System.Diagnostics;
using System.IO.Pipelines;
using Ferry.Daemon.Metrics;
using Ferry.Daemon.Services;
using Ferry.Daemon.Tls;
using Ferry.Daemon.Transport;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Connections;

/// <summary>
/// Serves one admitted connection of a listener, from its open line to its close line: runs the
/// TLS handshake when the listener has TLS, runs the listener's service on the (plain or
/// decrypted) pipes, ends the transport (what the service wrote is sent, then FIN), and logs
/// the one <see cref="CloseReason"/> that <see cref="ConnectionEnding"/> decides.
/// </summary>
/// <param name="label">The listener's label in metrics (<see cref="Listeners.BoundListener.Label"/>).</param>
/// <param name="ended">Called last, once the connection is closed and logged: the listener stops counting it.</param>
internal sealed class ConnectionHandler(ConnectionLog log, string label, IConnectionService service, ListenerTls? tls,
    TimeSpan handshakeTimeout, TimeProvider time, Action<TrackedConnection, CloseReason> ended)
{
    public async Task ServeAsync(TrackedConnection connection)
    {
        var context = connection.Context;
        // Fired when the listener or the server stops: the service should finish what it has
        // in flight and return, before the shutdown deadline aborts the transport.
        var stopping = connection.CloseRequested;
        string peer = connection.Peer;
        CloseReason? returned = null;
        Exception? thrown = null;
        TlsSession? session = null;
        ServiceConnection? serving = null;
        var reason = CloseReason.Error;
        try
        {
            log.Opened(peer, context.Id);
            IDuplexPipe pipes = context.Transport;
            if (tls is not null)
            {
                // The service's bytes are the decrypted ones; none until the session exists.
                connection.Traffic = IByteCounts.None;
                (session, string failure) = await TlsSession.AcceptAsync(context.Transport, tls.Current, handshakeTimeout, stopping);
                if (session is null)
                {
                    log.HandshakeFailed(peer, failure);
                    returned = CloseReason.TlsHandshakeFailed;
                    return;
                }
                pipes = session;
                connection.Traffic = session;
            }
            // Without a handshake the service starts as the connection is accepted: no second clock read.
            connection.ServiceStarted(tls is null ? connection.AcceptedAt : time.GetTimestamp());
            serving = new ServiceConnection(pipes, stopping, peer, log.ClientSays(peer)) { Transport = context };
            connection.Serving = serving;
            returned = await serving.ServeWithAsync(service);
        }
        catch (Exception ex)
        {
            thrown = ex;
        }
        finally
        {
            try
            {
                if (session is not null)
                    await session.DisposeAsync();
                // Whatever the service wrote is sent before the close, and counted.
                await context.DisposeAsync();
                reason = ConnectionEnding.Decide(returned, thrown, stopping.IsCancellationRequested, connection.Expired);
                if (ConnectionEnding.IsUnexpected(reason, thrown))
                    log.Failed(thrown!, peer, context.ConnectionId);
                var duration = time.GetElapsedTime(connection.AcceptedAt);
                long durationMs = (long)duration.TotalMilliseconds;
                if (FerryMetrics.ConnectionDuration.Enabled)
                    FerryMetrics.ConnectionDuration.Record(duration.TotalSeconds, new TagList { { "listener", label }, { "close_reason", reason.Label() } });
                log.Closed(peer, context.Id, reason,
                    connection.Traffic.BytesReceived, connection.Traffic.BytesSent, durationMs, serving?.CloseDetail);
            }
            finally
            {
                ended(connection, reason);
            }
        }
    }
}
