namespace Ferry.Client.Net;

/// <summary>
/// Copies bytes between a stream and a connected peer, one direction per call.
/// Connection failures surface as <see cref="PeerConnectionException"/>, stream failures as
/// <see cref="IOException"/>, so callers can tell a broken connection from a broken stdout.
/// </summary>
internal static class SocketPump
{
    /// <summary>Large enough that a bulk transfer costs few system calls per megabyte.</summary>
    public const int BufferSize = 64 * 1024;

    /// <summary>
    /// Sends everything <paramref name="source"/> yields until it ends, then half-closes the
    /// connection so the peer sees end-of-input while its replies can still arrive.
    /// Returns the number of bytes sent.
    /// </summary>
    public static async Task<long> CopyToPeerAsync(Stream source, PeerConnection destination, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[BufferSize];
        long total = 0;
        while (true)
        {
            int read = await source.ReadAsync(buffer, cancellationToken);
            if (read == 0)
                break;
            await destination.SendAllAsync(buffer.AsMemory(0, read), cancellationToken);
            total += read;
        }
        await destination.HalfCloseAsync();
        return total;
    }

    /// <summary>
    /// Writes everything received from <paramref name="source"/> to <paramref name="destination"/>
    /// until the peer closes its side cleanly, flushing after every chunk so interactive replies
    /// show at once. Returns the number of bytes copied.
    /// </summary>
    public static async Task<long> CopyFromPeerAsync(PeerConnection source, Stream destination, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[BufferSize];
        long total = 0;
        while (true)
        {
            int received = await source.ReceiveAsync(buffer, cancellationToken);
            if (received == 0)
                return total;
            await destination.WriteAsync(buffer.AsMemory(0, received), cancellationToken);
            await destination.FlushAsync(cancellationToken);
            total += received;
        }
    }
}
