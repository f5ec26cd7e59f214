using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Ferry.Daemon.Services;
using Ferry.Daemon.Transport;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One listener at work: an accept loop on the bound socket that applies the listener's
/// policy to each peer before anything is allocated for it, wraps admitted sockets in a
/// <see cref="SocketConnection"/> (a reader and a writer that call recv and send themselves,
/// pooled buffers) and hands them to the handler; a once-a-second sweep for timeouts; and the set of
/// live connections so it can be stopped on its own (reload removes it) or with the whole
/// server, in stages: stop accepting, ask connections to finish, abort what is left at the
/// deadline.
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
    private readonly ListenerConnectionHandler _handler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<ConnectionContext, TrackedConnection> _connections = new();
    private readonly SourceLimits _sources;
    private readonly RefusalLog _refusals;
    private readonly DescriptorShortage _shortage;
    private readonly ConnectionSweep _sweep;
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly CancellationTokenSource _stopSweeping = new();
    private readonly long? _descriptorLimit = DescriptorLimit.Current();
    private readonly long _refuseFromDescriptor;
    private int _open;
    private Task _accepting = Task.CompletedTask;
    private Task _sweeping = Task.CompletedTask;

    public RunningListener(BoundListener listener, IConnectionService service, MemoryPool<byte> pool, ILogger logger,
        TimeProvider? time = null)
    {
        Listener = listener;
        Service = service;
        Policy = listener.Spec.Policy ?? ListenerPolicy.From(listener.Spec);
        _pool = pool;
        // TLS handshakes are CPU work a socket thread must not do for everyone else.
        _serviceScheduler = service.NeverBlocks && Policy.Tls is null ? PipeScheduler.Inline : PipeScheduler.ThreadPool;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _refuseFromDescriptor = _descriptorLimit is long limit ? limit - DescriptorLimit.Reserve(limit) : long.MaxValue;
        _handler = new ListenerConnectionHandler(listener, service, Policy, _time, logger);
        _sources = new SourceLimits(Policy, _time);
        _refusals = new RefusalLog(listener.Name, logger, _time);
        _shortage = new DescriptorShortage(listener.Name, logger, _time);
        _sweep = new ConnectionSweep(Policy, _time);
    }

    public BoundListener Listener { get; }

    public IConnectionService Service { get; }

    public ListenerPolicy Policy { get; }

    public void Start()
    {
        _accepting = AcceptLoopAsync();
        _sweeping = SweepLoopAsync();
    }

    private async Task AcceptLoopAsync()
    {
        // Off the caller's stack: the first accept may complete synchronously.
        await Task.Yield();
        while (true)
        {
            Socket socket;
            try
            {
                socket = await Listener.Socket.AcceptAsync(_stopAccepting.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException
                || (ex is SocketException && _stopAccepting.IsCancellationRequested))
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
            {
                // The peer stays in the backlog; accepting again at once would only spin.
                var pause = _shortage.AcceptFailed(ex.Message);
                try
                {
                    await Task.Delay(pause, _time, _stopAccepting.Token);
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

    /// <summary>Applies the policy in the order cheapest and most final first; no byte of the peer's is read.</summary>
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
        // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; people know them as a.b.c.d.
        string peerText = peer.Address.IsIPv4MappedToIPv6
            ? new IPEndPoint(peer.Address.MapToIPv4(), peer.Port).ToString()
            : peer.ToString();

        long descriptor = (long)socket.Handle;
        if (descriptor >= _refuseFromDescriptor)
        {
            _shortage.Refused(descriptor, _descriptorLimit ?? 0);
            Refuse(socket, peerText, RefusalReason.OutOfDescriptors,
                $"out of file descriptors (descriptor {descriptor}, limit {_descriptorLimit}, {DescriptorLimit.Reserve(_descriptorLimit ?? 0)} kept in reserve)");
            return;
        }
        _shortage.Accepted();

        var address = peer.Address;
        if (!Policy.Admits(address))
        {
            Refuse(socket, peerText, RefusalReason.NotAllowed, Policy.AllowIsLoopbackDefault
                ? $"not allowed: {Listener.Service} serves loopback peers only unless allow= is set"
                : "not allowed by the listener's allow/deny lists");
            return;
        }
        if (Policy.MaxConnections > 0 && Volatile.Read(ref _open) >= Policy.MaxConnections)
        {
            Refuse(socket, peerText, RefusalReason.ListenerFull, $"too many connections (maxConnections {Policy.MaxConnections})");
            return;
        }
        IPAddress? source = Policy.Exempt.Contains(address) ? null : SourceLimits.SourceOf(address);
        if (source is not null && _sources.TryOpen(source) is { } limited)
        {
            Refuse(socket, peerText, limited, limited == RefusalReason.SourceFull
                ? $"too many connections from {source} (maxConnectionsPerIp {Policy.MaxConnectionsPerIp})"
                : $"too many new connections from {source} (connectionRate {Policy.ConnectionRate}/s, burst {Policy.ConnectionBurst})");
            return;
        }

        Interlocked.Increment(ref _open);
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
            Released(source);
            socket.Dispose();
            return;
        }
        var connection = new TrackedConnection(context, peerText, source, _time.GetTimestamp());
        context.Features.Set<IConnectionLifetimeNotificationFeature>(connection.Lifetime);
        _connections[context] = connection;
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
        Interlocked.Decrement(ref _open);
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
            // Completes the transport: whatever the service wrote is sent before the close.
            await connection.Context.DisposeAsync();
            _connections.TryRemove(connection.Context, out _);
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
                _sweep.Run(_connections.Values);
                _sources.Prune();
                _refusals.Tick();
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
        await _stopAccepting.CancelAsync();
        Listener.Socket.Dispose();
        await _accepting;
    }

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
    public async Task CloseConnectionsAsync(CancellationToken deadline)
    {
        foreach (var connection in _connections.Values)
            connection.Lifetime.RequestClose();
        var served = _connections.Values.Select(c => c.Served).ToArray();
        try
        {
            await Task.WhenAll(served).WaitAsync(deadline);
            return;
        }
        catch (OperationCanceledException)
        {
        }
        foreach (var context in _connections.Keys)
            context.Abort(new ConnectionAbortedException("shutdown deadline passed"));
        await Task.WhenAll(served);
    }

    [LoggerMessage(EventId = 16, Level = LogLevel.Debug, Message = "accept on {Listener} failed: {Error}; next")]
    private static partial void AcceptFailed(ILogger logger, string listener, string error);
}
