using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Services;

/// <summary>
/// RFC 864 chargen: sends the rotating pattern until the peer goes away, discarding what it
/// receives. Paced by the reader: each FlushAsync waits while the connection's unsent output
/// is above its pause threshold, so a slow reader costs bounded memory (about 64 KiB).
/// Over UDP (RFC 864's datagram service) each datagram is answered with a random 0 to 512
/// characters of the pattern, each answer starting one line further on.
/// </summary>
internal sealed class ChargenService : IConnectionService, IDatagramService
{
    public const int MaxDatagramCharacters = 512;

    private int _nextLine;

    public int Answer(Span<byte> datagram, int length, DatagramPeer peer)
    {
        int characters = Random.Shared.Next(MaxDatagramCharacters + 1);
        var cycle = ChargenPattern.Cycle.Span;
        // Unsigned: the count wraps after 2^32 answers without ever going negative.
        int start = (int)((uint)Interlocked.Increment(ref _nextLine) % ChargenPattern.CharacterCount) * ChargenPattern.LineBytes;
        int first = Math.Min(characters, cycle.Length - start);
        cycle.Slice(start, first).CopyTo(datagram);
        cycle[..(characters - first)].CopyTo(datagram[first..]);
        return characters;
    }

    public async ValueTask<CloseReason> RunAsync(ServiceConnection connection)
    {
        var draining = DiscardInputAsync(connection);
        try
        {
            var cycle = ChargenPattern.Cycle;
            while (true)
            {
                var flush = await connection.Output.WriteAsync(cycle, connection.Stopping);
                if (flush.IsCompleted)
                    return CloseReason.PeerReset;
            }
        }
        finally
        {
            // The reader ends when the transport closes after we return; a pending read
            // is cancelled so it does not outlive the connection.
            connection.Input.CancelPendingRead();
            await draining;
        }
    }

    private static async Task DiscardInputAsync(ServiceConnection connection)
    {
        var input = connection.Input;
        try
        {
            while (true)
            {
                var read = await input.ReadAsync();
                input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                    return;
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException)
        {
            // The peer reset or the transport closed; the writer side reports the reason.
        }
    }
}
