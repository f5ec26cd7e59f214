using System.Diagnostics;
using System.IO.Pipelines;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Logging;
using Ferry.Daemon.Services;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Serves one admitted connection of a listener: counts and logs it, runs the TLS handshake
/// when the listener has TLS, runs the listener's service on the (plain or decrypted) pipes,
/// and turns however it ended into one <see cref="CloseReason"/>.
/// </summary>
internal sealed partial class ListenerConnectionHandler(BoundListener listener, IConnectionService service, ListenerPolicy policy,
    TimeProvider time, ILogger logger)
{
    public async Task ServeAsync(TrackedConnection connection)
    {
        var context = connection.Context;
        // Fired when the listener or the server stops: the service should finish what it has
        // in flight and return, before the shutdown deadline aborts the transport.
        var stopping = connection.Lifetime.ConnectionClosedRequested;
        string peer = connection.Peer;
        long started = Stopwatch.GetTimestamp();
        var stats = connection.Stats;
        var receivedLines = logger.IsEnabled(LogLevel.Debug)
            ? new ReceivedLineLog(text => Log.ClientSays(logger, peer, text))
            : null;

        listener.Counters.Opened();
        Log.ConnectionOpened(logger, peer, listener.Name, context.ConnectionId);
        var reason = CloseReason.Error;
        TlsSession? tls = null;
        try
        {
            IDuplexPipe pipes = context.Transport;
            if (policy.Tls is { } listenerTls)
            {
                (tls, string failure) = await TlsSession.AcceptAsync(context.Transport, listenerTls.Current, policy.HandshakeTimeout, stopping);
                if (tls is null)
                {
                    HandshakeFailed(logger, peer, listener.Name, failure);
                    reason = CloseReason.TlsHandshakeFailed;
                    return;
                }
                pipes = tls;
            }
            connection.ServiceStarted(time.GetTimestamp());
            reason = await service.RunAsync(new ServiceConnection(pipes, stats, stopping, receivedLines,
                peer, () => context.Abort(new ConnectionAbortedException("cut off by the service"))));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            reason = CloseReason.Shutdown;
        }
        catch (ConnectionAbortedException)
        {
            reason = CloseReason.Aborted;
        }
        catch (IOException)
        {
            // ConnectionResetException and broken pipes: the peer is gone.
            reason = CloseReason.PeerReset;
        }
        catch (Exception ex) when (connection.Expired is null)
        {
            Log.ConnectionFailed(logger, ex, peer, listener.Name, context.ConnectionId);
        }
        catch (Exception)
        {
            // The sweep aborted it; whatever the service tripped over is a consequence.
        }
        finally
        {
            if (tls is not null)
                await tls.DisposeAsync();
            // A connection the sweep closed may have ended any way at all; the timeout is why.
            reason = connection.Expired ?? reason;
            listener.Counters.Closed();
            Log.ConnectionClosed(logger, peer, listener.Name, context.ConnectionId, reason.Describe(),
                stats.BytesIn, stats.BytesOut, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    [LoggerMessage(EventId = 32, Level = LogLevel.Warning, Message = "TLS handshake with {Peer} on {Listener} failed: {Reason}")]
    private static partial void HandshakeFailed(ILogger logger, string peer, string listener, string reason);
}
