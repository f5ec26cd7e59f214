using System.Buffers;
using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Services;

/// <summary>
/// RFC 862 echo: every byte received is sent back. Backpressure is per connection: when
/// this peer stops reading, FlushAsync waits on its own connection's unsent output and this
/// loop stops reading from it, so no other connection is delayed and memory stays bounded.
/// </summary>
internal sealed class EchoService : IConnectionService
{
    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        var input = connection.Input;
        var output = connection.Output;
        while (true)
        {
            var read = await input.ReadAsync(connection.Stopping);
            var buffer = read.Buffer;
            // Asked now: after AdvanceTo the buffer's blocks go back to the pool.
            bool received = !buffer.IsEmpty;
            foreach (var segment in buffer)
                output.Write(segment.Span);
            input.AdvanceTo(buffer.End);

            if (received && (await output.FlushAsync(connection.Stopping)).IsCompleted)
                return CloseReason.PeerReset;
            if (read.IsCompleted)
                return CloseReason.PeerClosed;
        }
    }
}
