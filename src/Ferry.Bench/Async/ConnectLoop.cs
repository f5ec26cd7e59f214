using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Ferry.Client.Bench;

/// <summary>
/// One loop of connect mode: connect, send one message, read and check its echo, close;
/// repeat. Latency covers the whole cycle. The socket itself is the only per-cycle allocation.
/// </summary>
internal sealed class ConnectLoop(
    IPEndPoint target, int seed, PayloadPattern pattern, int messageSize, BenchPhase phase, ConnectionTally tally)
{
    private readonly byte[] _receiveBuffer = new byte[messageSize];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!phase.Stopping)
            {
                long start = Stopwatch.GetTimestamp();
                int corrupt;
                try
                {
                    using Socket socket = await BenchSocket.ConnectAsync(target, cancellationToken);
                    await BenchSocket.SendAllAsync(socket, pattern.Slice(seed, 0, messageSize), cancellationToken);
                    corrupt = await BenchSocket.ReceiveEchoAsync(
                        socket, _receiveBuffer, messageSize, pattern, seed, 0, cancellationToken);
                }
                catch (SocketException exception)
                {
                    tally.CountError(BenchSocket.Describe(exception));
                    continue;
                }
                long end = Stopwatch.GetTimestamp();
                if (corrupt < 0)
                {
                    tally.CountError("server closed the connection before echoing everything");
                    continue;
                }
                if (corrupt > 0)
                    tally.CountCorruption(corrupt);
                if (phase.Measuring)
                {
                    tally.CountMessage(messageSize);
                    LatencyHistogram.RecordElapsed(tally.Latency!, start, end);
                }
            }
        }
        catch (OperationCanceledException)
        {
            tally.CountError("no echo before the run's deadline");
        }
    }
}
