using System.Net.Sockets;

namespace Ferry.Client.Bench;

/// <summary>
/// One connection of bulk mode: a sender streams the pattern in <c>size</c>-byte writes while
/// a receiver reads the echo and checks every byte. At the end the sender half-closes and the
/// receiver reads to the server's end of stream, so every byte sent is accounted for.
/// </summary>
internal sealed class BulkLoop(
    Socket socket, int seed, PayloadPattern pattern, int writeSize, BenchPhase phase, ConnectionTally tally)
{
    private const int ReceiveBufferSize = 64 * 1024;

    private readonly byte[] _receiveBuffer = new byte[ReceiveBufferSize];
    private long _sent;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            Task sending = SendAsync(cancellationToken);
            long received = await ReceiveAsync(cancellationToken);
            await sending;
            if (received != _sent)
                tally.CountError($"echo ended after {received} of {_sent} bytes");
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

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        long offset = 0;
        while (!phase.Stopping)
        {
            await BenchSocket.SendAllAsync(socket, pattern.Slice(seed, offset, writeSize), cancellationToken);
            offset += writeSize;
            Volatile.Write(ref _sent, offset);
        }
        socket.Shutdown(SocketShutdown.Send);
    }

    private async Task<long> ReceiveAsync(CancellationToken cancellationToken)
    {
        long received = 0;
        while (true)
        {
            int n = await socket.ReceiveAsync(_receiveBuffer, SocketFlags.None, cancellationToken);
            if (n == 0)
                return received;
            int corrupt = pattern.CountMismatches(seed, received, _receiveBuffer.AsSpan(0, n));
            if (corrupt > 0)
                tally.CountCorruption(corrupt);
            received += n;
            if (phase.Measuring)
                tally.CountBytes(n);
        }
    }
}
