using System.Net.Sockets;

namespace Ferry.Bench.Async;

/// <summary>
/// One connection of bulk mode on the async engine: a sender streams the pattern in
/// <c>size</c>-byte writes while a receiver reads the echo and checks every byte. At the end
/// the sender half-closes and the receiver reads to the server's end of stream, so every byte
/// sent is accounted for.
/// </summary>
internal static class BulkLoop
{
    private const int ReceiveBufferSize = 64 * 1024;

    public static async Task RunAsync(BenchContext context, int index, Socket? socket, CancellationToken cancellationToken)
    {
        ConnectionTally tally = context.Tallies[index];
        var sender = new Sender(context, index, socket!);
        try
        {
            Task sending = sender.RunAsync(cancellationToken);
            long received = await ReceiveAsync(context, index, socket!, cancellationToken);
            await sending;
            if (received != sender.Sent)
                tally.CountError($"echo ended after {received} of {sender.Sent} bytes");
        }
        catch (SocketException exception)
        {
            tally.CountError(BenchSocket.Describe(exception));
        }
        catch (OperationCanceledException)
        {
            tally.CountError("echo not finished before the run's deadline");
        }
    }

    private static async Task<long> ReceiveAsync(BenchContext context, int index, Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[ReceiveBufferSize];
        long received = 0;
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (n == 0)
                return received;
            context.CheckStreamed(index, received, buffer.AsSpan(0, n));
            received += n;
        }
    }

    /// <summary>The writing half: writes until the run stops, then half-closes.</summary>
    private sealed class Sender(BenchContext context, int index, Socket socket)
    {
        private long _sent;

        public long Sent => Volatile.Read(ref _sent);

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            int writeSize = context.Settings.MessageSize;
            long offset = 0;
            while (!context.Phase.Stopping)
            {
                await BenchSocket.SendAllAsync(socket, context.Pattern.Slice(index, offset, writeSize), cancellationToken);
                offset += writeSize;
                Volatile.Write(ref _sent, offset);
            }
            socket.Shutdown(SocketShutdown.Send);
        }
    }
}
