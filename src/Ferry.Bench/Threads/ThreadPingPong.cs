using System.Diagnostics;
using System.Net.Sockets;
using Ferry.Bench.Async;

namespace Ferry.Bench.Threads;

/// <summary>
/// Ping-pong on the threads engine: one thread per connection sends a message, blocks in recv
/// until its whole echo is back, checks it, and repeats. One thread and not a sender and a
/// receiver: a blocking request-reply client (redis-cli, a database driver, nc typing into a
/// line server) sends and then waits in read on the same thread, and with one message in
/// flight a second thread would only add a hand-off between threads per message that such
/// clients never pay. The server sees the same thing either way: one recv and one send per message.
/// </summary>
internal static class ThreadPingPong
{
    public static void Run(BenchContext context, int index, Socket? socket, BlockingDeadline deadline)
    {
        (BenchSettings settings, PayloadPattern pattern, BenchPhase phase, ConnectionTally[] tallies) = context;
        ConnectionTally tally = tallies[index];
        int size = settings.MessageSize;
        var buffer = new byte[size];
        long streamOffset = 0;
        if (!deadline.Watch(index, socket!))
            return;
        try
        {
            while (!phase.Stopping)
            {
                long start = Stopwatch.GetTimestamp();
                int corrupt = BlockingSocket.Exchange(socket!, buffer, size, pattern, index, streamOffset);
                long end = Stopwatch.GetTimestamp();
                if (corrupt < 0)
                {
                    tally.CountError(deadline.Passed ? DeadlineError : "server closed the connection before echoing everything");
                    return;
                }
                streamOffset += size;
                tally.CountEcho(size, corrupt, start, end, phase);
            }
        }
        catch (SocketException exception)
        {
            tally.CountError(deadline.Passed ? DeadlineError : BenchSocket.Describe(exception));
        }
        finally
        {
            deadline.Forget(index);
        }
    }

    private const string DeadlineError = "no echo before the run's deadline";
}
