using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Logging;
using Ferry.Daemon.Services;
using Ferry.Daemon.Transport;
using Ferry.Platform.Linux;
using Ferry.Platform.Net;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One listener at work: its <see cref="Acceptor"/> accepts on the bound socket from the epoll
/// loops, <see cref="Admission"/> judges each peer before anything is allocated for it, and an
/// admitted one becomes a <see cref="SocketConnection"/> on the loop that accepted it, served by
/// the <see cref="ConnectionHandler"/> right there when its service never blocks (on the thread
/// pool otherwise); a once-a-second sweep for timeouts; and the listener's open connections
/// (<see cref="ConnectionSet"/>), so it can be stopped on its own (reload removes it) or with
/// the whole server, in stages: stop accepting, ask connections to finish, abort what is left
/// at the deadline.
/// </summary>
/// <remarks>
/// Accepting here rather than through Kestrel's IConnectionListener or the runtime's sockets:
/// Kestrel's accept loop retries every socket error at once, so running out of file descriptors
/// becomes a busy spin (here EMFILE/ENFILE backs off and is logged once, <see cref="DescriptorShortage"/>),
/// and the runtime's accept costs thread hops and system calls a connection does not need.
/// </remarks>
internal sealed partial class RunningListener
{
    private readonly MemoryPool<byte> _pool;
    private readonly PipeScheduler _serviceScheduler;
    private readonly bool _serveOnLoop;
    private IListenerIntake _intake;
    private readonly DatagramResponder? _datagrams;
    private readonly DatagramDropLog? _dropLog;
    private readonly ConnectionHandler? _handler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConnectionSet _connections = new();
    private readonly SourceLimits _sources;
    private readonly Admission _admission;
    private readonly RefusalLog _refusals;
    private readonly DescriptorShortage _shortage;
    private readonly ConnectionSweep _sweep;

    private readonly CancellationTokenSource _stopSweeping = new();
    private readonly long? _descriptorLimit = DescriptorLimit.Current();
    private Task _sweeping = Task.CompletedTask;

    public RunningListener(BoundListener listener, IListenerService service, MemoryPool<byte> pool, ILogger logger,
        LogLevel openLineLevel, TimeProvider? time = null)
    {
        Listener = listener;
        Service = service;
        Policy = listener.Settings.Policy;
        _pool = pool;
        // TLS handshakes are CPU work a socket thread must not do for everyone else.
        _serveOnLoop = listener.Settings.Service.Traits.ServesOnLoop(listener.Settings.ServiceOptions) && Policy.Tls is null;
        _serviceScheduler = _serveOnLoop ? PipeScheduler.Inline : PipeScheduler.ThreadPool;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _handler = service is IConnectionService connections
            ? new ConnectionHandler(new ConnectionLog(logger, new LoggedName(listener.Name), openLineLevel), listener.Label, connections,
                Policy.Tls, Policy.HandshakeTimeout, _time, Forget)
            : null;
        _sources = new SourceLimits(Policy, _time);
        _admission = new Admission(Policy, listener.Service, _sources, _descriptorLimit);
        _refusals = new RefusalLog(listener.Name, logger, _time);
        _shortage = new DescriptorShortage(listener.Name, logger, _time);
        _sweep = new ConnectionSweep(Policy.IdleTimeout, Policy.FirstByteTimeout, _time);
        if (listener.Transport == ListenerTransport.Udp)
        {
            _datagrams = new DatagramResponder((IDatagramService)service, Policy, listener.Datagrams, _time, ((IPEndPoint)listener.EndPoint).Port);
            _dropLog = new DatagramDropLog(listener.Name, listener.Datagrams, () => _datagrams.Screen.LastDropped, logger, _time);
        }
        _intake = NewIntake();
        if (listener.Transport != ListenerTransport.Tcp)
            return;
        try
        {
            // Accepted sockets inherit TCP_NODELAY from the listening one: echoes and chat lines
            // go out as they are written, not after Nagle's delay, at no cost per connection.
            listener.Socket.NoDelay = true;
        }
        catch (SocketException)
        {
        }
    }

    /// <summary>Accepting connections, or on a udp: listener answering datagrams.</summary>
    private IListenerIntake NewIntake() => _datagrams is { } datagrams
        ? new DatagramSocket(Listener.Socket, datagrams.Answer, DatagramFault)
        : new Acceptor(Listener.Socket, Admit, errno => _shortage.AcceptFailed(Errno.Describe(errno)));

    public BoundListener Listener { get; }

    public IListenerService Service { get; }

    public ListenerPolicy Policy { get; }

    public void Start()
    {
        _intake.Start();
        _sweeping = SweepLoopAsync();
    }

    private long _lastFaultLogged = -1;

    /// <summary>A fault answering datagrams (a service's bug): logged at most once a minute, with its stack trace, since it is ours.</summary>
    private void DatagramFault(Exception fault)
    {
        long now = _time.GetTimestamp();
        long last = Interlocked.Read(ref _lastFaultLogged);
        if (last >= 0 && _time.GetElapsedTime(last, now) < TimeSpan.FromMinutes(1))
            return;
        if (Interlocked.CompareExchange(ref _lastFaultLogged, now, last) == last)
            DatagramsFailed(_logger, fault, Listener.Name);
    }

    [LoggerMessage(EventId = 114, Level = LogLevel.Error, Message = "{Listener}: answering datagrams failed; that batch is lost (logged at most once a minute)")]
    private static partial void DatagramsFailed(ILogger logger, Exception fault, string listener);

    /// <summary>A peer the acceptor took, on the loop that took it.</summary>
    private void Admit(AcceptedPeer accepted)
    {
        string peerText = EndpointText.Format(accepted.Peer);
        var verdict = _admission.Decide(accepted.Peer, accepted.Descriptor, Listener.Counters.Active, _shortage.IsShort);
        if (verdict.Refusal is { } refusal)
        {
            if (refusal == RefusalReason.OutOfDescriptors)
                _shortage.Refused(accepted.Descriptor, _descriptorLimit ?? 0);
            else
                _shortage.Admitted();
            Refuse(accepted.Descriptor, peerText, refusal, verdict.Detail);
            return;
        }
        _shortage.Admitted();

        Listener.Counters.Opened();
        var context = new SocketConnection(accepted, _pool, _serviceScheduler);
        try
        {
            context.Start();
        }
        catch (IOException)
        {
            context.Close(null);
            Released(verdict.Source);
            return;
        }
        var connection = new TrackedConnection(context, peerText, verdict.Source, _time.GetTimestamp(), _connections.CloseRequestedOn(accepted.Loop));
        _connections.Add(connection);
        // A service that never blocks starts right here, on the loop that accepted it, as a C
        // epoll server would; any other must not hold the loop: it starts on the thread pool.
        connection.Served = _serveOnLoop ? _handler!.ServeAsync(connection) : ServeOnThreadPoolAsync(connection);
    }

    private unsafe void Refuse(int descriptor, string peer, RefusalReason reason, string detail)
    {
        Listener.Counters.Refused(reason);
        _refusals.Refused(peer, reason, detail);
        // A fresh socket's send buffer is empty, so this never blocks (it is non-blocking
        // anyway); TLS listeners get no plain text, and raw byte services none at all
        // (docs/security.md says why).
        if (Policy.TellsRefusals && Policy.Tls is null && reason.ClientLine() is { } line)
        {
            byte[] bytes = Encoding.ASCII.GetBytes(line);
            fixed (byte* start = bytes)
                SocketCalls.Send(descriptor, start, bytes.Length, SocketCalls.NoSignal);
        }
        DescriptorCalls.Close(descriptor);
    }

    private void Released(PeerSource? source)
    {
        if (source is { } counted)
            _sources.Close(counted);
        Listener.Counters.Closed();
    }

    private async Task ServeOnThreadPoolAsync(TrackedConnection connection)
    {
        await Task.Yield();
        await _handler!.ServeAsync(connection);
    }

    /// <summary>The connection is closed and logged (the handler's last step): it counts no more.</summary>
    private void Forget(TrackedConnection connection, CloseReason reason)
    {
        var counters = Listener.Counters;
        lock (counters.BytesGate)
        {
            counters.AddClosedBytes(connection.Wire.BytesReceived, connection.Wire.BytesSent);
            _connections.Remove(connection);
        }
        if (RefusalReasonText.AfterAdmission(reason) is { } refusal)
            counters.Refused(refusal);
        Released(connection.Source);
    }

    /// <summary>The connections open now, for "ferryd status --connections" and the metrics; read without locks.</summary>
    public IEnumerable<TrackedConnection> Open => _connections.Current;

    /// <summary>
    /// Bytes on the sockets of the connections open now. Under <see cref="ListenerCounters.BytesGate"/>,
    /// added to the closed ones' totals, they make the listener's bytes so far (<see cref="Metrics.FerryMetrics"/>).
    /// </summary>
    public (long Received, long Sent) OpenBytes()
    {
        long received = 0, sent = 0;
        foreach (var connection in _connections.Current)
        {
            received += connection.Wire.BytesReceived;
            sent += connection.Wire.BytesSent;
        }
        return (received, sent);
    }

    private async Task SweepLoopAsync()
    {
        using var timer = new PeriodicTimer(ConnectionSweep.Interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopSweeping.Token))
            {
                _sweep.Run(_connections.Current);
                _sources.Prune();
                _refusals.Tick();
                _shortage.Tick();
                _dropLog?.Tick();
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
        for (int wait = 0; wait < BacklogDrainPolls && _datagrams is null && HasPendingPeers() && !_shortage.IsShort; wait++)
            await Task.Delay(10);
        await PauseAcceptingAsync();
        Listener.Close();
    }

    /// <summary>
    /// Stops accepting but leaves the socket listening (peers wait in its backlog): a reload may
    /// give it to the listener that replaces this one, or hand it back (<see cref="ResumeAccepting"/>).
    /// </summary>
    public Task PauseAcceptingAsync()
    {
        _intake.Stop();
        return Task.CompletedTask;
    }

    /// <summary>Accepts again after <see cref="PauseAcceptingAsync"/>, on the listener's socket (the same, or bound anew).</summary>
    public void ResumeAccepting()
    {
        _intake = NewIntake();
        _intake.Start();
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

}
