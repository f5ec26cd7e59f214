using Ferry.Bench.Native;
using Ferry.Platform.Linux;
using EpollFlags = Ferry.Platform.Linux.Epoll;

namespace Ferry.Bench.Epoll;

/// <summary>
/// Bulk on the epoll engine: each connection writes the pattern in <c>--size</c>-byte pieces
/// whenever its socket takes more, and reads and checks the echo whenever some is back. At the
/// end it half-closes and reads to the server's end of stream, so every byte sent is accounted
/// for. Nothing is allocated per write or read.
/// </summary>
internal sealed class EpollBulk(EpollConnections connections) : IEpollHandler
{
    // Reads per readiness event: enough to drain a socket buffer, few enough to stay fair.
    private const int ReadsPerEvent = 32;

    public string DeadlineError => "echo not finished before the run's deadline";

    public void Start(EpollConnection connection)
    {
        connection.BeginStream();
        connection.Watch(connections.Epoll, EpollFlags.In | EpollFlags.Out);
    }

    /// <summary>A stopping run half-closes connections whose socket has not reported writable.</summary>
    public int BeforeWait()
    {
        if (connections.Phase.Stopping)
        {
            foreach (EpollConnection connection in connections.All)
                HalfCloseIfStopping(connection);
        }
        return EpollDriver.WaitMilliseconds;
    }

    public void OnReady(EpollConnection connection, uint events)
    {
        // Drain the echo first: a server blocked on our full receive buffer stops reading too.
        if ((events & EpollConnections.Readable) != 0 && !Receive(connection))
            return;
        if ((events & EpollFlags.Out) != 0 && !HalfCloseIfStopping(connection) && !connections.Send(connection))
            connections.Retire(connection);
    }

    /// <summary>Once the run stops: stop writing and tell the server (FIN), so it can end the echo.</summary>
    private bool HalfCloseIfStopping(EpollConnection connection)
    {
        if (!connections.Phase.Stopping || connection.HalfClosed || connection.Fd < 0)
            return connection.HalfClosed;
        connection.ShutdownWrite();
        connection.Watch(connections.Epoll, EpollFlags.In);
        connection.HalfClosed = true;
        return true;
    }

    /// <summary>Reads and checks what has arrived; false when the connection is finished (its echo ended, or failed).</summary>
    private bool Receive(EpollConnection connection)
    {
        ConnectionTally tally = connections.TallyOf(connection);
        long before = connection.Received;
        ExchangeStep step = connection.Receive(connections.Pattern, connections.ReceiveBuffer, ReadsPerEvent);
        int corrupt = connection.TakeCorruptBytes();
        if (corrupt > 0)
            tally.CountCorruption(corrupt);
        if (connections.Phase.Measuring)
            tally.CountStreamed(before, connection.Received, connections.Settings.MessageSize);

        switch (step)
        {
            case ExchangeStep.PeerClosed:
                if (connection.Received != connection.Sent)
                    tally.CountError($"echo ended after {connection.Received} of {connection.Sent} bytes");
                connections.Retire(connection);
                return false;
            case ExchangeStep.Failed:
                connections.Fail(connection, SocketErrorText.DescribeErrno(connection.Error));
                connections.Retire(connection);
                return false;
            default:
                return true;
        }
    }
}
