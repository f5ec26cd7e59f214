using System.Diagnostics;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Logging;
using Ferry.Daemon.Services;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Kestrel's entry point for one listener's connections: counts and logs the connection,
/// runs the listener's service, and turns however it ended into one <see cref="CloseReason"/>.
/// </summary>
internal sealed class ListenerConnectionHandler(BoundListener listener, IConnectionService service, ILogger logger)
    : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext context)
    {
        // Kestrel fires this when the server stops: the service should finish what it has
        // in flight and return, before the shutdown deadline aborts the transport.
        var stopping = context.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        string peer = context.RemoteEndPoint?.ToString() ?? "unknown";
        long started = Stopwatch.GetTimestamp();
        var stats = new ConnectionStats();
        var receivedLines = logger.IsEnabled(LogLevel.Debug)
            ? new ReceivedLineLog(text => Log.ClientSays(logger, peer, text))
            : null;

        listener.Counters.Opened();
        Log.ConnectionOpened(logger, peer, listener.Name, context.ConnectionId);
        var reason = CloseReason.Error;
        try
        {
            reason = await service.RunAsync(new ServiceConnection(context.Transport, stats, stopping, receivedLines,
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
        catch (Exception ex)
        {
            Log.ConnectionFailed(logger, ex, peer, listener.Name, context.ConnectionId);
        }
        finally
        {
            listener.Counters.Closed();
            Log.ConnectionClosed(logger, peer, listener.Name, context.ConnectionId, reason.Describe(),
                stats.BytesIn, stats.BytesOut, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }
}
