using System.Buffers;

namespace Ferry.Daemon.Services.Fanout;

/// <summary>How a connection's writer loop ended.</summary>
internal enum WriterEnd
{
    /// <summary>The queue was completed and everything in it was delivered.</summary>
    Drained,

    /// <summary>The transport went away (peer reset, abort at the shutdown deadline).</summary>
    TransportGone,

    /// <summary>The client was cut off by its limits and the connection aborted.</summary>
    Cut,
}

/// <summary>
/// The one writer loop of a connection: drains its <see cref="OutboundQueue"/> into the
/// connection's output. Waiting on a slow client's flush happens here and only here,
/// so it delays no one else.
/// </summary>
internal static class OutboundWriter
{
    /// <summary>Bytes written before each flush: large enough to batch, small enough to count often.</summary>
    private const int BatchBytes = 64 * 1024;

    /// <summary>How long a cut-off client gets to take its farewell line before the abort.</summary>
    private static readonly TimeSpan FarewellGrace = TimeSpan.FromMilliseconds(250);

    /// <param name="farewell">The final line for a cut-off client, or null to send none (raw streams).</param>
    public static async Task<WriterEnd> DrainAsync(OutboundQueue queue, ServiceConnection connection, Func<string, byte[]>? farewell)
    {
        var output = connection.Output;
        var reader = queue.Reader;
        var cut = queue.CutToken;
        try
        {
            while (await reader.WaitToReadAsync(cut))
            {
                long batch = 0;
                while (batch < BatchBytes && reader.TryRead(out var message))
                {
                    output.Write(message.Span);
                    batch += message.Length;
                }
                var flush = await output.FlushAsync(cut);
                queue.Delivered(batch);
                if (flush.IsCompleted)
                    return WriterEnd.TransportGone;
                if (flush.IsCanceled)
                    break;
            }
            if (!queue.IsCut)
                return WriterEnd.Drained;
        }
        catch (OperationCanceledException) when (queue.IsCut)
        {
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException)
        {
            return WriterEnd.TransportGone;
        }

        await SayFarewellAsync(queue, connection, farewell);
        connection.Abort();
        return WriterEnd.Cut;
    }

    private static async Task SayFarewellAsync(OutboundQueue queue, ServiceConnection connection, Func<string, byte[]>? farewell)
    {
        if (farewell is null)
            return;
        try
        {
            // Written past the output's pause threshold on purpose: it is one short line, and the
            // flush below only decides whether we wait for it to leave.
            connection.Output.Write(farewell(queue.CutReason ?? "cut off"));
            using var grace = new CancellationTokenSource(FarewellGrace);
            await connection.Output.FlushAsync(grace.Token);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException)
        {
            // The client is not reading or already gone; the abort follows either way.
        }
    }
}
