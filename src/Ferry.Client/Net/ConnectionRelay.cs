namespace Ferry.Client.Net;

/// <summary>
/// Runs one connection: copies the peer to the output while a separately started input pump
/// feeds the peer, until the peer has closed.
/// </summary>
internal static class ConnectionRelay
{
    /// <summary>
    /// Returns once the peer has closed cleanly and everything it sent is written out,
    /// whatever the input pump is doing: a pending read on stdin cannot be cancelled, so
    /// waiting for it would hang after the server is done. An input pump that ends normally
    /// (input EOF, already half-closed) only means replies may still follow; one that fails on
    /// the connection leaves the receive side to report how the connection ended.
    /// Throws <see cref="PeerConnectionException"/> when the connection fails or ends uncleanly,
    /// and <see cref="CommandFailedException"/> when reading the input or writing the output fails.
    /// </summary>
    public static async Task RunAsync(PeerConnection peer, Task inputPump, Stream output, CancellationToken cancellationToken)
    {
        Task download = SocketPump.CopyFromPeerAsync(peer, output, cancellationToken);

        // WaitAsync because a stdout write blocked on a full pipe ignores cancellation.
        Task first = await Task.WhenAny(download, inputPump).WaitAsync(cancellationToken);
        if (first == inputPump && inputPump.Exception?.InnerException is { } inputFailure
            and not PeerConnectionException and not ObjectDisposedException and not OperationCanceledException)
        {
            throw new CommandFailedException($"reading stdin: {inputFailure.Message}");
        }

        try
        {
            await download.WaitAsync(cancellationToken);
        }
        catch (IOException exception)
        {
            // The connection's failures arrive as PeerConnectionException: this is the output's,
            // e.g. "broken pipe" once the reader of `| head -c 10` has gone.
            throw new CommandFailedException($"cannot write to stdout: {exception.Message}");
        }
    }
}
