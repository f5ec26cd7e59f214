using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>
/// Copies bytes between a stream and a connected socket, one direction per call.
/// Socket failures surface as <see cref="SocketException"/>, stream failures as
/// <see cref="IOException"/>, so callers can tell a broken connection from a broken stdout.
/// </summary>
internal static class SocketPump
{
    /// <summary>Large enough that a bulk transfer costs few system calls per megabyte.</summary>
    public const int BufferSize = 64 * 1024;

    /// <summary>
    /// Sends everything <paramref name="source"/> yields until it ends, then half-closes the
    /// socket (FIN) so the peer sees end-of-input while its replies can still arrive.
    /// Returns the number of bytes sent.
    /// </summary>
    public static async Task<long> CopyToSocketAsync(Stream source, Socket destination, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[BufferSize];
        long total = 0;
        while (true)
        {
            int read = await source.ReadAsync(buffer, cancellationToken);
            if (read == 0)
                break;
            await SendAllAsync(destination, buffer.AsMemory(0, read), cancellationToken);
            total += read;
        }
        destination.Shutdown(SocketShutdown.Send);
        return total;
    }

    /// <summary>
    /// Writes everything received on <paramref name="source"/> to <paramref name="destination"/>
    /// until the peer closes its side, flushing after every chunk so interactive replies show
    /// at once. Returns the number of bytes copied.
    /// </summary>
    public static async Task<long> CopyFromSocketAsync(Socket source, Stream destination, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[BufferSize];
        long total = 0;
        while (true)
        {
            int received = await source.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (received == 0)
                return total;
            await destination.WriteAsync(buffer.AsMemory(0, received), cancellationToken);
            await destination.FlushAsync(cancellationToken);
            total += received;
        }
    }

    /// <summary>Sends the whole chunk, looping in case the socket accepts only part of it.</summary>
    public static async Task SendAllAsync(Socket destination, ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
    {
        while (!chunk.IsEmpty)
        {
            int sent = await destination.SendAsync(chunk, SocketFlags.None, cancellationToken);
            chunk = chunk[sent..];
        }
    }
}
