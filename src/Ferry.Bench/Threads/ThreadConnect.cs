using System.Diagnostics;
using System.Net.Sockets;
using Ferry.Bench.Async;

namespace Ferry.Bench.Threads;

/// <summary>
/// Connect mode on the threads engine: each of <c>--conns</c> threads connects (blocking),
/// sends one message, blocks until its echo is back, checks it, closes, and starts over.
/// Latency covers the whole cycle, close included. A failed cycle is counted and the loop goes on.
/// </summary>
internal static class ThreadConnect
{
    private const string DeadlineError = "no echo before the run's deadline";

    public static void Run(BenchContext context, int index, Socket? _, BlockingDeadline deadline)
    {
        (BenchSettings settings, PayloadPattern pattern, BenchPhase phase, ConnectionTally[] tallies) = context;
        ConnectionTally tally = tallies[index];
        int size = settings.MessageSize;
        var buffer = new byte[size];
        while (!phase.Stopping)
        {
            long start = Stopwatch.GetTimestamp();
            int corrupt;
            try
            {
                using Socket socket = BlockingSocket.Create(settings.Target, settings.Transport);
                if (!deadline.Watch(index, socket))
                    return;
                socket.Connect(settings.Target);
                corrupt = BlockingSocket.Exchange(socket, buffer, size, pattern, index, 0);
            }
            catch (SocketException exception)
            {
                tally.CountError(deadline.Passed ? DeadlineError : BenchSocket.Describe(exception));
                continue;
            }
            finally
            {
                deadline.Forget(index);
            }
            long end = Stopwatch.GetTimestamp();
            if (corrupt < 0)
            {
                tally.CountError(deadline.Passed ? DeadlineError : "server closed the connection before echoing everything");
                continue;
            }
            tally.CountEcho(size, corrupt, start, end, phase);
        }
    }
}
