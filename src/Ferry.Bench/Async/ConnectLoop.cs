using System.Diagnostics;
using System.Net.Sockets;

namespace Ferry.Bench.Async;

/// <summary>
/// One loop of connect mode on the async engine: connect, send one message, read and check its
/// echo, close; repeat. Latency covers the whole cycle. The socket itself is the only per-cycle
/// allocation.
/// </summary>
internal static class ConnectLoop
{
    public static async Task RunAsync(BenchContext context, int index, Socket? _, CancellationToken cancellationToken)
    {
        ConnectionTally tally = context.Tallies[index];
        int size = context.Settings.MessageSize;
        var receiveBuffer = new byte[size];
        try
        {
            while (!context.Phase.Stopping)
            {
                long start = Stopwatch.GetTimestamp();
                int corrupt;
                try
                {
                    using Socket socket = await BenchSocket.ConnectAsync(context.Settings.Target, cancellationToken);
                    corrupt = await BenchSocket.ExchangeAsync(socket, receiveBuffer, size, context.Pattern, index, 0, cancellationToken);
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
                tally.CountEcho(size, corrupt, start, end, context.Phase);
            }
        }
        catch (OperationCanceledException)
        {
            tally.CountError("no echo before the run's deadline");
        }
    }
}
