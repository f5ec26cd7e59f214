using System.Buffers.Binary;
using System.Net;
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
/// fail, so an upstream is known to be down only by its ICMP "port unreachable", which ends that
/// session (the client's next datagram opens a new one), is logged once per window, and keeps new
/// sessions off that upstream for <see cref="RefusedPause"/> (unless every upstream refused).
/// </summary>
internal sealed partial class DatagramForward : IDatagramService, IAsyncDisposable
{
    private readonly ForwardOptions _options;
    private readonly IPEndPoint[] _upstreams;
    private readonly Dictionary<SessionKey, DatagramSession> _sessions = [];
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _listener;
    private readonly RepeatWindow _full;
    private readonly RepeatWindow _refused;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _expiring;
    private readonly Dictionary<IPEndPoint, long> _refusedAt = [];
    private int _next;

    public static readonly TimeSpan RefusedPause = TimeSpan.FromSeconds(5);

    public DatagramForward(ServiceContext context)
    {
        _options = context.Options<ForwardOptions>();
        _upstreams = [.. _options.To.Zip(_options.Addresses).SelectMany(u => u.Second.Select(a => new IPEndPoint(a, u.First.Port)))];
        _time = context.Time;
        _logger = context.Loggers.CreateLogger("ferryd.forward");
        _listener = context.Listener.ToString();
        _full = new RepeatWindow(_time, ForwardService.RepeatedWarningWindow);
        _refused = new RepeatWindow(_time, ForwardService.RepeatedWarningWindow);
        _expiring = ExpireIdleAsync();
    }

    public int Sessions
    {
        get
        {
            lock (_gate)
                return _sessions.Count;
        }
    }

    public int Answer(Span<byte> datagram, int length, DatagramPeer peer)
    {
        var key = SessionKey.Of(peer.Address);
        DatagramSession session;
        lock (_gate)
        {
            if (!_sessions.TryGetValue(key, out session!))
            {
                if (_sessions.Count >= _options.MaxSessions)
                {
                    if (_full.ShouldLog(out long more))
                        SessionsFull(_logger, _listener, _options.MaxSessions, Client(peer.Address), Repeats(more));
                    peer.Counters.Drop(Listeners.DatagramDrop.SessionsFull);
                    return -1;
                }
                session = DatagramSession.Open(Choose(), peer.Address, peer, Failed, _time);
                _sessions[key] = session;
                SessionOpened(_logger, _listener, Client(peer.Address), EndpointText.Format(session.Upstream));
            }
        }
        if (!session.Send(datagram[..length], out int errno))
            Failed(session, errno);
        return -1;
    }

    /// <summary>The upstream for a new session, by the balance asked for, among those that have not just refused one.</summary>
    private IPEndPoint Choose()
    {
        var usable = _upstreams.Where(u => !_refusedAt.TryGetValue(u, out long at) || _time.GetElapsedTime(at) >= RefusedPause).ToArray();
        if (usable.Length == 0)
            usable = _upstreams;
        switch (_options.Balance)
        {
            case Balance.First:
                return usable[0];
            case Balance.LeastConn:
                var counts = _sessions.Values.GroupBy(s => s.Upstream).ToDictionary(g => g.Key, g => g.Count());
                return usable.MinBy(u => counts.GetValueOrDefault(u))!;
            default:
                return usable[(int)((uint)_next++ % (uint)usable.Length)];
        }
    }

    /// <summary>An errno on a session's socket (the upstream refused, or the send failed): the session ends.</summary>
    private void Failed(DatagramSession session, int errno)
    {
        if (errno == Errno.WouldBlock)
            return;   // the socket's send buffer is full: this datagram is lost, as UDP may lose it
        lock (_gate)
        {
            var found = _sessions.FirstOrDefault(s => ReferenceEquals(s.Value, session));
            if (found.Value is null)
                return;
            _sessions.Remove(found.Key);
            _refusedAt[session.Upstream] = _time.GetTimestamp();
        }
        session.Close();
        if (_refused.ShouldLog(out long more))
            UpstreamFailed(_logger, _listener, EndpointText.Format(session.Upstream), SocketErrorText.DescribeErrno(errno), Repeats(more));
    }

    private async Task ExpireIdleAsync()
    {
        var interval = TimeSpan.FromTicks(Math.Clamp(_options.SessionTimeout.Ticks / 2, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond));
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                List<DatagramSession> idle;
                lock (_gate)
                {
                    idle = [];
                    foreach (var (key, session) in _sessions)
                    {
                        if (_time.GetElapsedTime(session.LastActive) >= _options.SessionTimeout)
                        {
                            idle.Add(session);
                            _sessions.Remove(key);
                        }
                    }
                }
                foreach (var session in idle)
                    session.Close();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string Client(ReadOnlySpan<byte> address) => EndpointText.Format(SocketAddressBytes.ToEndPoint(address));

    private static string Repeats(long more) => more == 0 ? "" : $" ({more} more since the last such line)";

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _expiring;
        DatagramSession[] all;
        lock (_gate)
        {
            all = [.. _sessions.Values];
            _sessions.Clear();
        }
        foreach (var session in all)
            session.Close();
    }

    [LoggerMessage(EventId = 111, Level = LogLevel.Debug, Message = "{Listener}: client {Client} goes to upstream {Upstream}")]
    private static partial void SessionOpened(ILogger logger, string listener, string client, string upstream);

    [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "{Listener}: {Sessions} sessions open (maxSessions): datagrams of new client {Client} dropped{Repeats}")]
    private static partial void SessionsFull(ILogger logger, string listener, int sessions, string client, string repeats);

    [LoggerMessage(EventId = 113, Level = LogLevel.Warning, Message = "{Listener}: upstream {Upstream}: {Cause}; its session ended{Repeats}")]
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
