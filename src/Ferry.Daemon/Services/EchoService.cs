using System.IO.Pipelines;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Transport;

namespace Ferry.Daemon.Services;

/// <summary>
/// RFC 862 echo: every byte received is sent back. Backpressure is per connection: when
/// this peer stops reading, what it has not taken waits (in the relay's block, or the writer's
/// unsent output on the pipes) and this connection is not read, so no other connection is
/// delayed and memory stays bounded.
/// When ferryd stops, what the peer had already sent is still echoed before the close.
/// Over UDP each datagram goes back to its sender as it came: same size, same bytes.
/// </summary>
internal sealed class EchoService : IConnectionService, IDatagramService
{
    public int Answer(Span<byte> datagram, int length, DatagramPeer peer) => length;

    public ValueTask<CloseReason> RunAsync(ServiceConnection connection) =>
        connection.PlainSocket is { } socket ? EchoRelay.RunAsync(socket, connection.Stopping) : CopyAsync(connection);

    // Through the pipes (TLS, or the Debug log of what the client says): one state machine per
    // connection, the loop in this method itself (the shutdown path apart).
    private static async ValueTask<CloseReason> CopyAsync(ServiceConnection connection)
    {
        var input = connection.Input;
        var output = connection.Output;
        var stopping = connection.Stopping;
        try
        {
            while (true)
            {
                ReadResult read = await input.ReadAsync(stopping);
                bool received = PipeCopy.WriteAndConsume(read, input, output);
                if (received && (await output.FlushAsync(stopping)).IsCompleted)
                    return CloseReason.PeerReset;
                if (read.IsCompleted)
                    return CloseReason.PeerClosed;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Bounded by the shutdown deadline, which aborts the transport under us.
            await EchoWhatIsHeldAsync(input, output);
            throw;
        }
    }

    /// <summary>At shutdown: sends what was written, echoes what has arrived without waiting for more, then returns.</summary>
    private static async Task<CloseReason> EchoWhatIsHeldAsync(PipeReader input, PipeWriter output)
    {
        if ((await output.FlushAsync()).IsCompleted)
            return CloseReason.PeerReset;
        while (input.TryRead(out ReadResult read))
        {
            bool received = PipeCopy.WriteAndConsume(read, input, output);
            if (received && (await output.FlushAsync()).IsCompleted)
                return CloseReason.PeerReset;
            if (read.IsCompleted)
                return CloseReason.PeerClosed;
            if (!received)
                break;
        }
        return CloseReason.Shutdown;
    }
}
