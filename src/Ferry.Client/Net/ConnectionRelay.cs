using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>
/// Runs one connection: copies the peer to the output while a separately started input pump
/// feeds the peer, and decides how the connection ended.
/// </summary>
internal static class ConnectionRelay
{
    /// <summary>
    /// Returns once the peer has closed, whatever the input pump is doing: a pending read
    /// on stdin cannot be cancelled, so waiting for it would hang after the server is done.
    /// An input pump that ends normally (input EOF, already half-closed) only means replies
    /// may still follow. An input pump that fails on the socket means the connection is
    /// broken and the receive side will report how; one that fails reading its input is
    /// fatal and rethrown as <see cref="CommandFailedException"/>. Other socket errors
    /// propagate as <see cref="SocketException"/>.
    /// </summary>
    public static async Task<RelayEnd> RunAsync(
        PeerConnection peer, Task inputPump, Stream output, CancellationToken cancellationToken)
    {
        Task download = SocketPump.CopyFromPeerAsync(peer, output, cancellationToken);

        // WaitAsync because a stdout write blocked on a full pipe ignores cancellation.
        Task first = await Task.WhenAny(download, inputPump).WaitAsync(cancellationToken);
        if (first == inputPump && inputPump.Exception?.InnerException is { } inputFailure
            and not SocketException and not ObjectDisposedException and not OperationCanceledException)
        {
            // A TLS failure while sending is already phrased; anything else failed on the input.
            throw inputFailure as CommandFailedException ?? new CommandFailedException($"reading stdin: {inputFailure.Message}");
        }

        try
        {
            await download.WaitAsync(cancellationToken);
            return RelayEnd.PeerClosed;
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionReset)
        {
            return RelayEnd.PeerReset;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // EPIPE arrives as IOException; a closed descriptor (EBADF) as UnauthorizedAccessException.
            return RelayEnd.OutputClosed;
        }
    }
}
