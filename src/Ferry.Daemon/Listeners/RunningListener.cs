using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Services;
using Ferry.Daemon.Transport;
using Ferry.Platform.Net;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One listener at work: an accept loop on the bound socket that lets <see cref="Admission"/>
/// judge each peer before anything is allocated for it, wraps admitted sockets in a
/// <see cref="SocketConnection"/> and hands them to the <see cref="ConnectionHandler"/>; a
/// once-a-second sweep for timeouts; and the listener's open connections
/// (<see cref="ConnectionSet"/>), so it can be stopped on its own (reload removes it) or with
/// the whole server, in stages: stop accepting, ask connections to finish, abort what is left
/// at the deadline.
/// </summary>
/// <remarks>
/// Accepting here rather than through Kestrel's IConnectionListener: Kestrel's accept loop
/// retries every socket error at once, so running out of file descriptors becomes a busy
/// spin; here EMFILE/ENFILE backs off and is logged once (<see cref="DescriptorShortage"/>).
/// </remarks>
internal sealed partial class RunningListener
{
    private readonly MemoryPool<byte> _pool;
    private readonly PipeScheduler _serviceScheduler;
    private readonly ConnectionHandler _handler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConnectionSet _connections = new();
    private readonly SourceLimits _sources;
    private readonly Admission _admission;
    private readonly RefusalLog _refusals;
    private readonly DescriptorShortage _shortage;
    private readonly ConnectionSweep _sweep;
    private CancellationTokenSource _stopAccepting = new();
    private readonly CancellationTokenSource _stopSweeping = new();
    private readonly long? _descriptorLimit = DescriptorLimit.Current();
    private Task _accepting = Task.CompletedTask;
    private Task _sweeping = Task.CompletedTask;

    public RunningListener(BoundListener listener, IConnectionService service, MemoryPool<byte> pool, ILogger logger,
        TimeProvider? time = null)
    {
        Listener = listener;
        Service = service;
        Policy = listener.Settings.Policy;
        _pool = pool;
        // TLS handshakes are CPU work a socket thread must not do for everyone else.
        _serviceScheduler = listener.Settings.Service.Traits.NeverBlocks && Policy.Tls is null ? PipeScheduler.Inline : PipeScheduler.ThreadPool;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _handler = new ConnectionHandler(listener.Name, service, Policy.Tls, Policy.HandshakeTimeout, _time, logger);
        _sources = new SourceLimits(Policy, _time);
        _admission = new Admission(Policy, listener.Service, _sources, _descriptorLimit);
        _refusals = new RefusalLog(listener.Name, logger, _time);
        _shortage = new DescriptorShortage(listener.Name, logger, _time);
        _sweep = new ConnectionSweep(Policy.IdleTimeout, Policy.FirstByteTimeout, _time);
    }

    public BoundListener Listener { get; }

    public IConnectionService Service { get; }

    public ListenerPolicy Policy { get; }

    public void Start()
    {
        _accepting = AcceptLoopAsync(_stopAccepting.Token);
        _sweeping = SweepLoopAsync();
    }

    private async Task AcceptLoopAsync(CancellationToken stop)
    {
        // Off the caller's stack: the first accept may complete synchronously.
        await Task.Yield();
        while (true)
        {
            Socket socket;
            try
            {
                socket = await Listener.Socket.AcceptAsync(stop);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException
                || (ex is SocketException && stop.IsCancellationRequested))
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
            {
                // The peer stays in the backlog; accepting again at once would only spin.
                var pause = _shortage.AcceptFailed(ex.Message);
                try
                {
                    await Task.Delay(pause, _time, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            catch (SocketException ex)
            {
                // ECONNABORTED and the like: that peer left while in the backlog; the next one is fine.
                AcceptFailed(_logger, Listener.Name, ex.SocketErrorCode.ToString());
                continue;
            }
            Admit(socket);
        }
    }

    private void Admit(Socket socket)
    {
        IPEndPoint peer;
        try
        {
            peer = (IPEndPoint)socket.RemoteEndPoint!;
        }
        catch (SocketException)
        {
            socket.Dispose(); // already gone
            return;
        }
        string peerText = EndpointText.Format(peer);

        long descriptor = (long)socket.Handle;
        var verdict = _admission.Decide(peer.Address, descriptor, Listener.Counters.Active, _shortage.IsShort);
        if (verdict.Refusal is { } refusal)
        {
            if (refusal == RefusalReason.OutOfDescriptors)
                _shortage.Refused(descriptor, _descriptorLimit ?? 0);
            else
                _shortage.Admitted();
            Refuse(socket, peerText, refusal, verdict.Detail);
            return;
        }
        _shortage.Admitted();

        Listener.Counters.Opened();
        SocketConnection context;
        try
        {
            // Echoes and chat lines go out as they are written, not after Nagle's delay.
            socket.NoDelay = true;
            context = new SocketConnection(socket, EpollLoop.Next(), _pool, _serviceScheduler);
            context.Start();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            Released(verdict.Source);
            socket.Dispose();
            return;
        }
        var connection = new TrackedConnection(context, peerText, verdict.Source, _time.GetTimestamp());
        _connections.Add(connection);
        connection.Served = ServeAsync(connection);
    }

    private void Refuse(Socket socket, string peer, RefusalReason reason, string detail)
    {
        Listener.Counters.Refused(reason);
        _refusals.Refused(peer, reason, detail);
        try
        {
            // A fresh socket's send buffer is empty, so this never blocks; TLS listeners get no
            // plain text, and raw byte services none at all (docs/security.md says why).
            if (Policy.TellsRefusals && Policy.Tls is null && reason.ClientLine() is { } line)
            {
                socket.Blocking = false;
                socket.Send(Encoding.ASCII.GetBytes(line));
            }
        }
        catch (SocketException)
        {
        }
        socket.Dispose();
    }

    private void Released(IPAddress? source)
    {
        if (source is not null)
            _sources.Close(source);
        Listener.Counters.Closed();
    }

    private async Task ServeAsync(TrackedConnection connection)
    {
        // Yield first: the accept loop must not run the handler's synchronous start.
        await Task.Yield();
        try
        {
            await _handler.ServeAsync(connection);
        }
        finally
        {
            _connections.Remove(connection);
            Released(connection.Source);
            connection.Lifetime.Dispose();
        }
    }

    private async Task SweepLoopAsync()
    {
        using var timer = new PeriodicTimer(ConnectionSweep.Interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopSweeping.Token))
            {
                _sweep.Run(_connections.Open);
                _sources.Prune();
                _refusals.Tick();
                _shortage.Tick();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Stops accepting; connections already open are not touched. Peers the kernel has
    /// already connected (in the listen backlog, maybe with data sent) are accepted first,
    /// within a short bound, so they are served and closed gracefully instead of reset.
    /// </summary>
    public async Task StopAcceptingAsync()
    {
        for (int wait = 0; wait < BacklogDrainPolls && HasPendingPeers() && !_shortage.IsShort; wait++)
            await Task.Delay(10);
        await PauseAcceptingAsync();
        Listener.Socket.Dispose();
    }

    /// <summary>
    /// Stops accepting but leaves the socket listening (peers wait in its backlog): a reload may
    /// give it to the listener that replaces this one, or hand it back (<see cref="ResumeAccepting"/>).
    /// </summary>
    public async Task PauseAcceptingAsync()
    {
        await _stopAccepting.CancelAsync();
        await _accepting;
    }

    /// <summary>Accepts again after <see cref="PauseAcceptingAsync"/>, on the listener's socket (the same, or bound anew).</summary>
    public void ResumeAccepting()
    {
        _stopAccepting.Dispose();
        _stopAccepting = new CancellationTokenSource();
        _accepting = AcceptLoopAsync(_stopAccepting.Token);
    }

    /// <summary>Completes once this listener, no longer accepting, has no open connection left.</summary>
    public Task WhenIdleAsync() => _connections.WhenEmptyAsync();

    private const int BacklogDrainPolls = 50;

    private bool HasPendingPeers()
    {
        try
        {
            return Listener.Socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            return false;
        }
    }

    /// <summary>Stops the timeout sweep: only after every connection of this listener has ended.</summary>
    public async ValueTask StopSweepingAsync()
    {
        await _stopSweeping.CancelAsync();
        await _sweeping;
    }

    /// <summary>Asks every open connection to finish; aborts those still open at the deadline.</summary>
    public Task CloseConnectionsAsync(CancellationToken deadline) => _connections.CloseAllAsync(deadline);

    [LoggerMessage(EventId = 16, Level = LogLevel.Debug, Message = "accept on {Listener} failed: {Error}; next")]
    private static partial void AcceptFailed(ILogger logger, string listener, string error);
}
