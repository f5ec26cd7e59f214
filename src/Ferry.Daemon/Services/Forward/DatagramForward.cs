using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Logging;
using Ferry.Platform.Linux;
using Ferry.Platform.Net;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services.Forward;

/// <summary>
/// forward on a udp: listener, as socat's <c>UDP-LISTEN,fork</c> or nginx's <c>stream … udp</c>:
/// each client address (IP and port) gets a session, a socket of its own to one upstream, that
/// lives while datagrams pass either way and ends after <see cref="ForwardOptions.SessionTimeout"/>
/// without one. At most <see cref="ForwardOptions.MaxSessions"/> sessions: datagrams of new clients
/// beyond are dropped and logged once per window. Upstreams are taken in turn (roundrobin), the
/// first always (first), or the one with the fewest sessions (leastconn); UDP has no connect to
/// fail, so an upstream is known to be down by its ICMP "port unreachable" (or by no session to it
/// being possible), which ends that session (the client's next datagram opens a new one), is
/// logged once per window, and keeps new sessions off that upstream for <see cref="RefusedPause"/>
/// unless every upstream refused. Its listener's service alone: never shared (sessions answer
/// from their listener's socket).
/// </summary>
internal sealed partial class DatagramForward : IDatagramService, IServiceMetrics, IAsyncDisposable
{
    public static readonly TimeSpan RefusedPause = TimeSpan.FromSeconds(5);

    private readonly ForwardOptions _options;
    private readonly IPEndPoint[] _upstreams;
    private readonly Dictionary<SessionKey, DatagramSession> _sessions = [];
    private readonly Dictionary<IPEndPoint, int> _sessionsPerUpstream = [];
    private readonly Dictionary<IPEndPoint, long> _refusedAt = [];
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _listener;
    private readonly RepeatWindow _full;
    private readonly RepeatWindow _failures;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _expiring;
    private uint _next;

    public DatagramForward(ServiceContext context)
    {
        _options = context.Options<ForwardOptions>();
        _upstreams = [.. _options.To.Zip(_options.Addresses).SelectMany(u => u.Second.Select(a => new IPEndPoint(a, u.First.Port)))];
        foreach (var upstream in _upstreams)
            _sessionsPerUpstream[upstream] = 0;
        _time = context.Time;
        _logger = context.Loggers.CreateLogger("ferryd.forward");
        _listener = context.Listener.ToString();
        _full = new RepeatWindow(_time, ForwardService.RepeatedWarningWindow);
        _failures = new RepeatWindow(_time, ForwardService.RepeatedWarningWindow);
        _expiring = ExpireIdleAsync();
    }

    public int Answer(Span<byte> datagram, int length, DatagramPeer peer)
    {
        var key = SessionKey.Of(peer.Address);
        DatagramSession? session;
        IPEndPoint? chosen = null;
        lock (_gate)
        {
            if (_sessions.TryGetValue(key, out session))
            {
                session.Touch();   // under the gate: the expiry cannot take a session being used
            }
            else if (_sessions.Count >= _options.MaxSessions)
            {
                if (_full.ShouldLog(out long more))
                    SessionsFull(_logger, _listener, _options.MaxSessions, Client(peer.Address), Repeats(more));
                peer.Counters.Drop(DatagramDrop.SessionsFull);
                return -1;
            }
            else
            {
                chosen = Choose();
                try
                {
                    session = DatagramSession.Open(key, chosen, peer, Refused, _time);
                }
                catch (Exception ex) when (ex is SocketException or IOException)
                {
                    _refusedAt[chosen] = _time.GetTimestamp();
                    peer.Counters.Drop(DatagramDrop.SessionFailed);
                    if (_failures.ShouldLog(out long more))
                        UpstreamFailed(_logger, _listener, EndpointText.Format(chosen), $"no session could be opened: {Describe(ex)}", Repeats(more));
                    return -1;
                }
                _sessions[key] = session;
                _sessionsPerUpstream[chosen]++;
            }
        }
        if (chosen is not null)
            SessionOpened(_logger, _listener, Client(peer.Address), EndpointText.Format(chosen));
        int errno = session.Send(datagram[..length]);
        if (errno == Errno.ConnectionRefused)
            Refused(session);   // an ICMP error for an earlier datagram, reported on this send
        else if (errno != 0)
            peer.Counters.Drop(DatagramDrop.SendFailed);
        return -1;
    }

    /// <summary>The upstream for a new session, by the balance asked for, among those that have not just failed one.</summary>
    private IPEndPoint Choose()
    {
        var usable = _upstreams.Where(u => !_refusedAt.TryGetValue(u, out long at) || _time.GetElapsedTime(at) >= RefusedPause).ToArray();
        if (usable.Length == 0)
            usable = _upstreams;
        return _options.Balance switch
        {
            Balance.First => usable[0],
            Balance.LeastConn => usable.MinBy(u => _sessionsPerUpstream[u])!,
            _ => usable[_next++ % (uint)usable.Length],
        };
    }

    /// <summary>The session's upstream answered "port unreachable": the session ends, the upstream rests.</summary>
    private void Refused(DatagramSession session)
    {
        lock (_gate)
        {
            if (!Forget(session))
                return;
            _refusedAt[session.Upstream] = _time.GetTimestamp();
        }
        session.Close();
        if (_failures.ShouldLog(out long more))
            UpstreamFailed(_logger, _listener, EndpointText.Format(session.Upstream),
                $"{SocketErrorText.DescribeErrno(Errno.ConnectionRefused)}; its session ended", Repeats(more));
    }

    /// <summary>Takes the session out of the tables, under the gate; false if it was gone already.</summary>
    private bool Forget(DatagramSession session)
    {
        var key = (SessionKey)session.Key;
        if (!_sessions.TryGetValue(key, out var held) || !ReferenceEquals(held, session))
            return false;
        _sessions.Remove(key);
        _sessionsPerUpstream[session.Upstream]--;
        return true;
    }

    private async Task ExpireIdleAsync()
    {
        var interval = TimeSpan.FromTicks(Math.Clamp(_options.SessionTimeout.Ticks / 2, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond));
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                var idle = new List<DatagramSession>();
                lock (_gate)
                {
                    foreach (var session in _sessions.Values)
                    {
                        if (_time.GetElapsedTime(session.LastActive) >= _options.SessionTimeout)
                            idle.Add(session);
                    }
                    foreach (var session in idle)
                        Forget(session);
                }
                foreach (var session in idle)
                    session.Close();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Sessions open per upstream (ferry_forward_upstream_active), and whether each is taken for new ones.</summary>
    public void Report(ServiceReport report)
    {
        lock (_gate)
        {
            foreach (var upstream in _upstreams)
            {
                string name = EndpointText.Format(upstream);
                report.Add(ServiceMetric.UpstreamActive, _sessionsPerUpstream[upstream], "upstream", name);
                bool resting = _refusedAt.TryGetValue(upstream, out long at) && _time.GetElapsedTime(at) < RefusedPause;
                report.Add(ServiceMetric.UpstreamUp, resting ? 0 : 1, "upstream", name);
            }
        }
    }

    private static string Client(ReadOnlySpan<byte> address) => EndpointText.Format(SocketAddressBytes.ToEndPoint(address));

    private static string Describe(Exception ex) => ex is SocketException socket ? SocketErrorText.Describe(socket) : ex.Message;

    private static string Repeats(long more) => more == 0 ? "" : $" ({more} more since the last such line)";

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _expiring;
        DatagramSession[] all;
        lock (_gate)
        {
            all = [.. _sessions.Values];
            foreach (var session in all)
                Forget(session);
        }
        foreach (var session in all)
            session.Close();
    }

    [LoggerMessage(EventId = 111, Level = LogLevel.Debug, Message = "{Listener}: client {Client} goes to upstream {Upstream}")]
    private static partial void SessionOpened(ILogger logger, string listener, string client, string upstream);

    [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "{Listener}: {Sessions} sessions open (maxSessions): datagrams of new client {Client} dropped{Repeats}")]
    private static partial void SessionsFull(ILogger logger, string listener, int sessions, string client, string repeats);

    [LoggerMessage(EventId = 113, Level = LogLevel.Warning, Message = "{Listener}: upstream {Upstream}: {Cause}{Repeats}")]
    private static partial void UpstreamFailed(ILogger logger, string listener, string upstream, string cause, string repeats);

    /// <summary>A client by its address as the kernel wrote it: family, port and address, no allocation.</summary>
    private readonly record struct SessionKey(int Family, int Port, UInt128 Address)
    {
        public static SessionKey Of(ReadOnlySpan<byte> address)
        {
            int family = BinaryPrimitives.ReadUInt16LittleEndian(address);
            int port = BinaryPrimitives.ReadUInt16BigEndian(address[2..]);
            UInt128 bytes = family == SocketCalls.AddressFamilyInet
                ? BinaryPrimitives.ReadUInt32BigEndian(address[4..])
                : BinaryPrimitives.ReadUInt128BigEndian(address[8..]);
            return new SessionKey(family, port, bytes);
        }
    }
}
