using System.Diagnostics;
using Ferry.Bench.Native;
using Ferry.Platform.Linux;
using EpollFlags = Ferry.Platform.Linux.Epoll;

namespace Ferry.Bench.Epoll;

/// <summary>
/// Ping-pong on the epoll engine: every connection sends a message, and when its whole echo
/// is back and checked, the next one leaves from the same event. No tasks, no thread-pool hops,
/// no allocation per message, so one core of load generator can keep a fast server busy.
/// Closed loop only (open-loop pacing stays on the async engine).
/// </summary>
internal sealed class EpollPingPong(EpollConnections connections) : IEpollHandler
{
    public string DeadlineError => "no echo before the run's deadline";

    public void Start(EpollConnection connection) => SendNext(connection, Stopwatch.GetTimestamp());

    public int BeforeWait() => EpollDriver.WaitMilliseconds;

    public void OnReady(EpollConnection connection, uint events)
    {
        if ((events & EpollFlags.Out) != 0 && connection.SendPending && !connections.Send(connection))
        {
            connections.Retire(connection);
            return;
        }
        if ((events & EpollConnections.Readable) == 0)
            return;
        if (!connections.ReceiveEcho(connection))
        {
            if (connection.Fd < 0)
                connections.Retire(connection);
            return;
        }
        long end = connections.CountEcho(connection);
        if (connections.Phase.Stopping)
            connections.Retire(connection);
        else
            SendNext(connection, end);
    }

    private void SendNext(EpollConnection connection, long startTimestamp)
    {
        connection.BeginMessage(connections.Settings.MessageSize, startTimestamp);
        if (!connections.Send(connection))
            connections.Retire(connection);
    }
}
