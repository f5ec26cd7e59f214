using System.Diagnostics;
using System.Net.Sockets;

namespace Ferry.Bench.Async;

/// <summary>
/// One connection of ping-pong mode on the async engine: send a message, read its whole echo,
/// check it, repeat; with <c>--rate</c>, each message leaves on its connection's schedule.
/// Everything it touches is allocated up front, so the steady state allocates nothing.
/// </summary>
internal static class PingPongLoop
{
    public static async Task RunAsync(BenchContext context, int index, Socket? socket, CancellationToken cancellationToken)
    {
        (BenchSettings settings, PayloadPattern pattern, BenchPhase phase, ConnectionTally[] tallies) = context;
        ConnectionTally tally = tallies[index];
        int size = settings.MessageSize;
        var receiveBuffer = new byte[size];
        // Each connection's share of the total rate, their first sends spread over one interval.
        SendSchedule? schedule = settings.RatePerConnection is double perConnection
            ? SendSchedule.Staggered(phase.StartTimestamp, perConnection, index, settings.Connections)
            : null;
        long streamOffset = 0;
        try
        {
            while (!phase.Stopping)
            {
                long start;
                if (schedule is null)
                {
                    start = Stopwatch.GetTimestamp();
                }
                else
                {
                    long intended = schedule.TakeNext();
                    await SendSchedule.WaitUntilAsync(intended, phase, cancellationToken);
                    if (phase.Stopping)
                        break;
                    start = Math.Min(intended, Stopwatch.GetTimestamp());
                }

                int corrupt = await BenchSocket.ExchangeAsync(socket!, receiveBuffer, size, pattern, index, streamOffset, cancellationToken);
                long end = Stopwatch.GetTimestamp();
                if (corrupt < 0)
                {
                    tally.CountError("server closed the connection before echoing everything");
                    return;
                }
                streamOffset += size;
                tally.CountEcho(size, corrupt, start, end, phase);
            }
        }
        catch (SocketException exception)
        {
            tally.CountError(BenchSocket.Describe(exception));
        }
        catch (OperationCanceledException)
        {
            tally.CountError("no echo before the run's deadline");
        }
    }
}
