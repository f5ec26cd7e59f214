using System.Diagnostics;
using Ferry.Bench.Native;
using Ferry.Platform.Linux;
using EpollFlags = Ferry.Platform.Linux.Epoll;

namespace Ferry.Bench.Epoll;

/// <summary>
/// Connect mode on the epoll engine: each of <c>--conns</c> slots connects (non-blocking),
/// sends one message, reads and checks its echo, closes, and starts over. Latency covers the
/// whole cycle, close included. A failed cycle is counted as an error and the slot starts
/// over; a socket that cannot even be created is retried after a short wait.
/// </summary>
internal sealed class EpollConnectCycles(EpollConnections connections) : IEpollHandler
{
    private const int RetryMilliseconds = 10;

    private readonly byte[] _address = NativeSocket.AddressOf(connections.Settings.Target);

    public string DeadlineError => "no echo before the run's deadline";

    public void Start(EpollConnection connection) => StartCycle(connection);

    /// <summary>Slots left idle by a failed cycle start over; a stopping run retires them instead.</summary>
    public int BeforeWait()
    {
        bool anyIdle = false;
        foreach (EpollConnection slot in connections.All)
        {
            if (slot.Retired || slot.Fd >= 0)
                continue;
            if (connections.Phase.Stopping)
            {
                connections.Retire(slot);
                continue;
            }
            StartCycle(slot);
            anyIdle |= slot.Fd < 0;
        }
        return anyIdle ? RetryMilliseconds : EpollDriver.WaitMilliseconds;
    }

    public void OnReady(EpollConnection slot, uint events)
    {
        if (slot.Connecting)
        {
            slot.Connecting = false;
            int error = NonBlockingConnect.PendingError(slot.Fd);
            if (error != 0)
                connections.Fail(slot, SocketErrorText.DescribeErrno(error));
            else
                connections.Send(slot);
            return;
        }

        if ((events & EpollFlags.Out) != 0 && slot.SendPending && !connections.Send(slot))
            return;
        if ((events & EpollConnections.Readable) == 0 || !connections.ReceiveEcho(slot))
            return;

        slot.Close();
        connections.CountEcho(slot);
        // The cycle completed: go straight into the next one, or retire the slot.
        if (connections.Phase.Stopping)
            connections.Retire(slot);
        else
            StartCycle(slot);
    }

    private void StartCycle(EpollConnection slot)
    {
        long start = Stopwatch.GetTimestamp();
        int fd = NonBlockingConnect.Start(_address, out int error, out bool connected);
        if (fd < 0)
        {
            connections.TallyOf(slot).CountError(SocketErrorText.DescribeErrno(error));
            return;
        }
        uint events = connected ? EpollFlags.In : EpollFlags.Out;
        connections.Epoll.Add(fd, events, slot.Index);
        slot.Attach(fd, events);
        slot.BeginMessage(connections.Settings.MessageSize, start);
        slot.Connecting = !connected;
        if (connected)
            connections.Send(slot);
    }
}
