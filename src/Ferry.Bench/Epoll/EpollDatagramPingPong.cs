using System.Diagnostics;
using Ferry.Bench.Datagrams;
using Ferry.Bench.Native;
using Ferry.Platform.Linux;

namespace Ferry.Bench.Epoll;

/// <summary>
/// UDP ping-pong on the epoll engine (<c>--udp</c>): every sender is a connected UDP socket that
/// sends one datagram and, when its echo is back and checked, the next one from the same event.
/// An echo not back within the loss timeout counts its datagram as lost and the next one
/// leaves: a lost datagram costs the run one timeout of one sender, never a stall. The
/// timeouts are found by a scan of the senders before a wait, only once the earliest can have
/// passed, and bound how long that wait sleeps. Nothing is allocated per datagram.
/// </summary>
internal sealed class EpollDatagramPingPong : IEpollHandler
{
    // Datagrams read per readiness event: the echo, and any late or stray ones queued before it.
    private const int ReadsPerEvent = 16;

    private readonly EpollConnections _connections;
    private readonly DatagramSender[] _senders;
    private readonly long _lossTicks;

    // No datagram in flight can be overdue before this time: it is the earliest sent plus the timeout.
    private long _nextLossCheck;

    public EpollDatagramPingPong(EpollConnections connections)
    {
        _connections = connections;
        BenchSettings settings = connections.Settings;
        _senders = connections.All
            .Select(connection => new DatagramSender(connection.Index, settings.MessageSize, connections.Pattern))
            .ToArray();
        _lossTicks = (long)(settings.LossTimeout.TotalSeconds * Stopwatch.Frequency);
    }

    public string DeadlineError => "datagram still in flight at the run's deadline";

    public void Start(EpollConnection connection) => Send(connection, Stopwatch.GetTimestamp());

    public int BeforeWait()
    {
        long now = Stopwatch.GetTimestamp();
        if (now >= _nextLossCheck)
            _nextLossCheck = GiveUpOverdue(now);
        // Rounded up, so the wait does not end just before the next timeout and spin.
        long milliseconds = (_nextLossCheck - now) * 1000 / Stopwatch.Frequency + 1;
        return (int)Math.Min(milliseconds, EpollDriver.WaitMilliseconds);
    }

    public void OnReady(EpollConnection connection, uint events)
    {
        if ((events & EpollConnections.Readable) == 0)
            return;
        DatagramSender sender = _senders[connection.Index];
        ConnectionTally tally = _connections.TallyOf(connection);
        byte[] buffer = _connections.ReceiveBuffer;
        for (int reads = 0; reads < ReadsPerEvent; reads++)
        {
            nint n = NativeSocket.Receive(connection.Fd, buffer);
            if (n < 0)
            {
                int error = Errno.Last;
                if (error == Errno.Interrupted)
                    continue;
                if (error == Errno.WouldBlock)
                    return;
                // ECONNREFUSED: an ICMP "port unreachable" came back for a datagram; nothing listens there.
                _connections.Fail(connection, SocketErrorText.DescribeErrno(error));
                _connections.Retire(connection);
                return;
            }
            switch (sender.Check(buffer.AsSpan(0, (int)n), out int corrupt))
            {
                case DatagramEcho.InFlight:
                    long end = Stopwatch.GetTimestamp();
                    tally.CountEcho(sender.Size, corrupt, sender.StartTimestamp, end, _connections.Phase);
                    sender.Echoed();
                    Next(connection, end);
                    return;
                case DatagramEcho.Late:
                    tally.CountLate(corrupt, _connections.Phase);
                    break;
                case DatagramEcho.WrongSize:
                    tally.CountError($"an echo of {n} bytes came back for a datagram of {sender.Size}");
                    break;
                default:
                    tally.CountError("an echo came back that is no datagram this sender has in flight or gave up");
                    break;
            }
        }
    }

    /// <summary>Counts every datagram whose timeout has passed as lost and sends the next; returns when the next timeout can come.</summary>
    private long GiveUpOverdue(long now)
    {
        long earliest = now + _lossTicks;
        foreach (EpollConnection connection in _connections.All)
        {
            if (connection.Fd < 0)
                continue;
            DatagramSender sender = _senders[connection.Index];
            long due = sender.StartTimestamp + _lossTicks;
            if (due > now)
            {
                earliest = Math.Min(earliest, due);
                continue;
            }
            _connections.TallyOf(connection).CountLost(_connections.Phase);
            sender.GiveUp();
            Next(connection, now);
        }
        return earliest;
    }

    /// <summary>After an echo or a loss: the next datagram, or, once the run is stopping, the sender is done.</summary>
    private void Next(EpollConnection connection, long now)
    {
        if (_connections.Phase.Stopping)
            _connections.Retire(connection);
        else
            Send(connection, now);
    }

    /// <summary>
    /// Sends the sender's datagram and starts its loss timeout. A datagram the kernel will not
    /// take (EAGAIN: the socket's buffer is full) is dropped here, as UDP may drop it anywhere,
    /// and counted as lost when its timeout passes; any other error ends the sender.
    /// </summary>
    private void Send(EpollConnection connection, long start)
    {
        DatagramSender sender = _senders[connection.Index];
        sender.StartTimestamp = start;
        if (NativeSocket.SendSome(connection.Fd, sender.Datagram, out int error) < 0)
        {
            _connections.Fail(connection, SocketErrorText.DescribeErrno(error));
            _connections.Retire(connection);
        }
    }
}
