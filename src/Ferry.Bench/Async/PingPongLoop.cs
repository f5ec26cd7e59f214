using System.Diagnostics;
using System.Net.Sockets;

namespace Ferry.Client.Bench;

/// <summary>
/// One connection of ping-pong mode: send a message, read its whole echo, check it, repeat.
/// Everything it touches is allocated up front, so the steady state allocates nothing.
/// </summary>
internal sealed class PingPongLoop(
    Socket socket, int seed, PayloadPattern pattern, int messageSize, BenchPhase phase, ConnectionTally tally,
    SendSchedule? schedule)
{
    private readonly byte[] _receiveBuffer = new byte[messageSize];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
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

                await BenchSocket.SendAllAsync(socket, pattern.Slice(seed, streamOffset, messageSize), cancellationToken);
                int corrupt = await BenchSocket.ReceiveEchoAsync(
                    socket, _receiveBuffer, messageSize, pattern, seed, streamOffset, cancellationToken);
                long end = Stopwatch.GetTimestamp();
                if (corrupt < 0)
                {
                    tally.CountError("server closed the connection before echoing everything");
                    return;
                }
                streamOffset += messageSize;
                if (corrupt > 0)
                    tally.CountCorruption(corrupt);
                if (phase.Measuring)
                {
                    tally.CountMessage(messageSize);
                    LatencyHistogram.RecordElapsed(tally.Latency!, start, end);
                }
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
