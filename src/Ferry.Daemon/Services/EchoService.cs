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
    /// <summary>Only non-blocking pipe and queue operations.</summary>
    public bool NeverBlocks => true;

    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        var input = connection.Input;
        var output = connection.Output;
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(connection.Stopping);
                var buffer = read.Buffer;
                // Taken now: after AdvanceTo the buffer's segments go back to the pool.
                long length = buffer.Length;
                foreach (var segment in buffer)
                    output.Write(segment.Span);
                connection.ReceivedLines?.Observe(buffer);
                connection.Stats.Received(length);
                input.AdvanceTo(buffer.End);

                if (length > 0)
                {
                    var flush = await output.FlushAsync(connection.Stopping);
                    if (flush.IsCompleted)
                        return CloseReason.PeerReset;
                    connection.Stats.Sent(length);
                }
                if (read.IsCompleted)
                    return CloseReason.PeerClosed;
            }
        }
        finally
        {
            connection.ReceivedLines?.Flush();
        }
    }
}
