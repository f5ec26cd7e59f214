using System.Diagnostics;

namespace Ferry.Client.Bench;

/// <summary>
/// Ping-pong mode on one thread and one epoll set: every connection sends a message, and
/// when its whole echo is back and checked, the next one leaves from the same event. No
/// tasks, no thread-pool hops, no allocation per message, so one core of load generator
/// can keep a fast server busy. Closed loop only (open-loop pacing stays on the async engine).
/// </summary>
internal sealed class EpollPingPong : IDisposable
{
    private const int WaitMilliseconds = 50;

    private readonly EpollSet _epoll;
    private readonly EchoExchange[] _connections;
    private readonly ConnectionTally[] _tallies;
    private readonly BenchPhase _phase;
    private readonly int _messageSize;
    private readonly byte[] _receiveBuffer;

    private EpollPingPong(EpollSet epoll, EchoExchange[] connections, ConnectionTally[] tallies, BenchPhase phase, int messageSize)
    {
        _epoll = epoll;
        _connections = connections;
        _tallies = tallies;
        _phase = phase;
        _messageSize = messageSize;
        _receiveBuffer = new byte[Math.Min(messageSize, 64 * 1024)];
    }

    /// <summary>Connects every connection (one at a time, so no listen backlog overflows); a failure ends the run.</summary>
    public static EpollPingPong Open(BenchSettings settings, PayloadPattern pattern, BenchPhase phase, ConnectionTally[] tallies)
    {
        var epoll = new EpollSet(Math.Min(settings.Connections, 1024));
        var connections = new EchoExchange[settings.Connections];
        var engine = new EpollPingPong(epoll, connections, tallies, phase, settings.MessageSize);
        try
        {
            var connector = new EpollConnector(settings, epoll);
            for (int i = 0; i < connections.Length; i++)
                connections[i] = new EchoExchange(pattern, i, settings.MessageSize) { Fd = connector.Connect(i) };
            return engine;
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>Runs until the phase stops and every message in flight is echoed, or until <paramref name="deadline"/>.</summary>
    public Task RunAsync(CancellationToken deadline) => EpollThread.Start("ferry bench pingpong", () => Run(deadline));

    public void Dispose()
    {
        foreach (EchoExchange? connection in _connections)
            connection?.Close();
        _epoll.Dispose();
    }

    private void Run(CancellationToken deadline)
    {
        int active = 0;
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < _connections.Length; i++)
        {
            _connections[i].Begin(0, now);
            if (Send(i))
                active++;
        }

        while (active > 0)
        {
            if (deadline.IsCancellationRequested)
            {
                for (int i = 0; i < _connections.Length; i++)
                {
                    if (_connections[i].Fd >= 0)
                        _tallies[i].CountError("no echo before the run's deadline");
                }
                return;
            }
            int count = _epoll.Wait(WaitMilliseconds);
            for (int e = 0; e < count; e++)
            {
                int index = _epoll.TagAt(e);
                if (_connections[index].Fd >= 0 && !OnReady(index, _epoll.EventsAt(e)))
                    active--;
            }
        }
    }

    /// <summary>Handles one readiness event; false when the connection is finished (stopped or failed).</summary>
    private bool OnReady(int index, uint events)
    {
        EchoExchange connection = _connections[index];
        if ((events & LinuxSockets.EpollOut) != 0 && connection.SendPending && !Send(index))
            return false;
        if ((events & (LinuxSockets.EpollIn | LinuxSockets.EpollError | LinuxSockets.EpollHangUp)) == 0)
            return true;

        ConnectionTally tally = _tallies[index];
        switch (connection.Receive(_receiveBuffer))
        {
            case ExchangeStep.Waiting:
                return true;
            case ExchangeStep.PeerClosed:
                tally.CountError("server closed the connection before echoing everything");
                connection.Close();
                return false;
            case ExchangeStep.Failed:
                tally.CountError(Errno.Describe(connection.Error));
                connection.Close();
                return false;
        }

        long end = Stopwatch.GetTimestamp();
        if (connection.CorruptBytes > 0)
            tally.CountCorruption(connection.CorruptBytes);
        if (_phase.Measuring)
        {
            tally.CountMessage(_messageSize);
            LatencyHistogram.RecordElapsed(tally.Latency!, connection.StartTimestamp, end);
        }
        if (_phase.Stopping)
        {
            connection.Close();
            return false;
        }
        connection.Begin(connection.StreamOffset + _messageSize, end);
        return Send(index);
    }

    private bool Send(int index)
    {
        EchoExchange connection = _connections[index];
        if (connection.TrySend())
        {
            connection.WatchFor(_epoll, index);
            return true;
        }
        _tallies[index].CountError(Errno.Describe(connection.Error));
        connection.Close();
        return false;
    }
}
