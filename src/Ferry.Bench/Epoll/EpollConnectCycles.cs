using System.Diagnostics;

namespace Ferry.Client.Bench;

/// <summary>
/// Connect mode on one thread and one epoll set: each of <c>--conns</c> slots connects
/// (non-blocking), sends one message, reads and checks its echo, closes, and starts over.
/// Latency covers the whole cycle, close included. A failed cycle is counted as an error and
/// the slot starts over; a socket that cannot even be created is retried after a short wait.
/// </summary>
internal sealed class EpollConnectCycles : IDisposable
{
    private const int WaitMilliseconds = 50;
    private const int RetryMilliseconds = 10;

    private readonly EpollSet _epoll;
    private readonly byte[] _address;
    private readonly EchoExchange[] _slots;
    private readonly bool[] _connecting;
    private readonly bool[] _done;
    private readonly ConnectionTally[] _tallies;
    private readonly BenchPhase _phase;
    private readonly int _messageSize;
    private readonly byte[] _receiveBuffer;

    public EpollConnectCycles(BenchSettings settings, PayloadPattern pattern, BenchPhase phase, ConnectionTally[] tallies)
    {
        _epoll = new EpollSet(Math.Min(settings.Connections, 1024));
        _address = NativeSocket.AddressOf(settings.Target);
        _slots = new EchoExchange[settings.Connections];
        for (int i = 0; i < _slots.Length; i++)
            _slots[i] = new EchoExchange(pattern, i, settings.MessageSize);
        _connecting = new bool[_slots.Length];
        _done = new bool[_slots.Length];
        _tallies = tallies;
        _phase = phase;
        _messageSize = settings.MessageSize;
        _receiveBuffer = new byte[Math.Min(settings.MessageSize, 64 * 1024)];
    }

    public Task RunAsync(CancellationToken deadline) => EpollThread.Start("ferry bench connect", () => Run(deadline));

    public void Dispose()
    {
        foreach (EchoExchange slot in _slots)
            slot.Close();
        _epoll.Dispose();
    }

    private void Run(CancellationToken deadline)
    {
        int finished = 0;
        while (finished < _slots.Length)
        {
            if (deadline.IsCancellationRequested)
            {
                for (int i = 0; i < _slots.Length; i++)
                {
                    if (_slots[i].Fd >= 0)
                        _tallies[i].CountError("no echo before the run's deadline");
                }
                return;
            }

            // Idle slots: at the start, and after a failed cycle. A stopping run starts no new cycle.
            bool anyIdle = false;
            for (int i = 0; i < _slots.Length; i++)
            {
                if (_done[i] || _slots[i].Fd >= 0)
                    continue;
                if (_phase.Stopping)
                {
                    _done[i] = true;
                    finished++;
                    continue;
                }
                StartCycle(i);
                anyIdle |= _slots[i].Fd < 0;
            }

            int count = _epoll.Wait(anyIdle ? RetryMilliseconds : WaitMilliseconds);
            for (int e = 0; e < count; e++)
            {
                int index = _epoll.TagAt(e);
                if (_slots[index].Fd < 0)
                    continue;
                if (!OnReady(index, _epoll.EventsAt(e)))
                    continue;
                // The cycle completed: go straight into the next one, or retire the slot.
                if (_phase.Stopping)
                {
                    _done[index] = true;
                    finished++;
                }
                else
                {
                    StartCycle(index);
                }
            }
        }
    }

    private void StartCycle(int index)
    {
        EchoExchange slot = _slots[index];
        slot.Begin(0, Stopwatch.GetTimestamp());
        int fd = NativeSocket.StartConnect(_address, out int error, out bool connected);
        if (fd < 0)
        {
            _tallies[index].CountError(Errno.Describe(error));
            return;
        }
        slot.Fd = fd;
        _connecting[index] = !connected;
        _epoll.Add(fd, connected ? LinuxSockets.EpollIn : LinuxSockets.EpollOut, index);
        slot.WatchingWrite = !connected;
        if (connected)
            Send(index);
    }

    /// <summary>Handles one readiness event; true when the slot's cycle completed (echo checked, socket closed).</summary>
    private bool OnReady(int index, uint events)
    {
        EchoExchange slot = _slots[index];
        ConnectionTally tally = _tallies[index];
        if (_connecting[index])
        {
            int error = NativeSocket.PendingError(slot.Fd);
            _connecting[index] = false;
            if (error != 0)
            {
                tally.CountError(Errno.Describe(error));
                slot.Close();
                return false;
            }
            Send(index);
            return false;
        }

        if ((events & LinuxSockets.EpollOut) != 0 && slot.SendPending)
            Send(index);
        if (slot.Fd < 0 || (events & (LinuxSockets.EpollIn | LinuxSockets.EpollError | LinuxSockets.EpollHangUp)) == 0)
            return false;

        switch (slot.Receive(_receiveBuffer))
        {
            case ExchangeStep.Waiting:
                return false;
            case ExchangeStep.PeerClosed:
                tally.CountError("server closed the connection before echoing everything");
                slot.Close();
                return false;
            case ExchangeStep.Failed:
                tally.CountError(Errno.Describe(slot.Error));
                slot.Close();
                return false;
        }

        slot.Close();
        long end = Stopwatch.GetTimestamp();
        if (slot.CorruptBytes > 0)
            tally.CountCorruption(slot.CorruptBytes);
        if (_phase.Measuring)
        {
            tally.CountMessage(_messageSize);
            LatencyHistogram.RecordElapsed(tally.Latency!, slot.StartTimestamp, end);
        }
        return true;
    }

    private void Send(int index)
    {
        EchoExchange slot = _slots[index];
        if (slot.TrySend())
        {
            slot.WatchFor(_epoll, index);
            return;
        }
        _tallies[index].CountError(Errno.Describe(slot.Error));
        slot.Close();
    }
}
