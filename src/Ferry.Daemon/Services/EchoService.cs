using System.Buffers;
using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Services;

/// <summary>
/// RFC 862 echo: every byte received is sent back. Backpressure is per connection: when
/// this peer stops reading, FlushAsync waits on its own connection's unsent output and this
/// loop stops reading from it, so no other connection is delayed and memory stays bounded.
/// When ferryd stops, what the peer had already sent is still echoed before the close.
/// </summary>
internal sealed class EchoService : IConnectionService
{
    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        try
        {
            return await EchoAsync(connection, connection.Stopping);
        }
        catch (OperationCanceledException) when (connection.Stopping.IsCancellationRequested)
        {
            // Bounded by the shutdown deadline, which aborts the transport under us.
            await EchoAsync(connection, CancellationToken.None, onlyWhatIsHeld: true);
            throw;
        }
    }

    /// <param name="onlyWhatIsHeld">Echo what has arrived (and what was written) without waiting for more, then return.</param>
    private static async Task<CloseReason> EchoAsync(ServiceConnection connection, CancellationToken stopping, bool onlyWhatIsHeld = false)
    {
        var input = connection.Input;
        var output = connection.Output;
        if (onlyWhatIsHeld && (await output.FlushAsync(stopping)).IsCompleted)
            return CloseReason.PeerReset;
        while (true)
        {
            System.IO.Pipelines.ReadResult read;
            if (!onlyWhatIsHeld)
                read = await input.ReadAsync(stopping);
            else if (!input.TryRead(out read))
                return CloseReason.Shutdown;
            var buffer = read.Buffer;
            // Asked now: after AdvanceTo the buffer's blocks go back to the pool.
            bool received = !buffer.IsEmpty;
            foreach (var segment in buffer)
                output.Write(segment.Span);
            input.AdvanceTo(buffer.End);

            if (received && (await output.FlushAsync(stopping)).IsCompleted)
                return CloseReason.PeerReset;
            if (read.IsCompleted)
                return CloseReason.PeerClosed;
            if (onlyWhatIsHeld && !received)
                return CloseReason.Shutdown;
        }
    }
}
