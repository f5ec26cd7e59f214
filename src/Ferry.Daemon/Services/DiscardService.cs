using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Services;

/// <summary>RFC 863 discard: reads and throws away everything, answers nothing.</summary>
internal sealed class DiscardService : IConnectionService
{
    /// <summary>Only non-blocking pipe and queue operations.</summary>
    public bool NeverBlocks => true;

    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        var input = connection.Input;
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(connection.Stopping);
                connection.ReceivedLines?.Observe(read.Buffer);
                connection.Stats.Received(read.Buffer.Length);
                input.AdvanceTo(read.Buffer.End);
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
