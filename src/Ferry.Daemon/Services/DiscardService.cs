using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Services;

/// <summary>
/// RFC 863 discard: reads and throws away everything, answers nothing. When ferryd stops, what
/// the peer had already sent is read too, so the close is a FIN and not a reset (closing a socket
/// with unread data resets it). Over UDP: datagrams are read and never answered.
/// </summary>
internal sealed class DiscardService : IConnectionService, IDatagramService
{
    public int Answer(Span<byte> datagram, int length, DatagramPeer peer) => -1;

    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        var input = connection.Input;
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(connection.Stopping);
                input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                    return CloseReason.PeerClosed;
            }
        }
        catch (OperationCanceledException) when (connection.Stopping.IsCancellationRequested)
        {
            while (input.TryRead(out var read) && !read.Buffer.IsEmpty && !read.IsCompleted)
                input.AdvanceTo(read.Buffer.End);
            throw;
        }
    }
}
