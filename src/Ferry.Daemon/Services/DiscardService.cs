using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Services;

/// <summary>RFC 863 discard: reads and throws away everything, answers nothing.</summary>
internal sealed class DiscardService : IConnectionService
{
    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        var input = connection.Input;
        while (true)
        {
            var read = await input.ReadAsync(connection.Stopping);
            input.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
                return CloseReason.PeerClosed;
        }
    }
}
