using System.Buffers;
using System.IO.Pipelines;
using Ferry.Daemon.Transport;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Services;

/// <summary>Passing bytes from one pipe on to another: echo's step, and forward's and exec's directions.</summary>
internal static class PipeCopy
{
    /// <summary>Writes what <paramref name="read"/> brought to <paramref name="destination"/> and consumes it; true when it brought anything.</summary>
    public static bool WriteAndConsume(in ReadResult read, PipeReader source, PipeWriter destination)
    {
        var buffer = read.Buffer;
        // Asked now: after AdvanceTo the buffer's blocks go back to the pool.
        bool received = !buffer.IsEmpty;
        foreach (var segment in buffer)
            destination.Write(segment.Span);
        source.AdvanceTo(buffer.End);
        return received;
    }

    /// <summary>
    /// One direction: what the source has, written and flushed to the destination (the flush waits
    /// while the destination is full, so a slow reader slows its writer), until the source ends;
    /// its FIN is passed on as ours. A cancelled read (<see cref="PipeReader.CancelPendingRead"/>) ends it as <see cref="DirectionEnd.Aborted"/>.
    /// </summary>
    public static async Task<DirectionEnd> PumpAsync(PipeReader source, PipeWriter destination)
    {
        while (true)
        {
            ReadResult read;
            try
            {
                read = await source.ReadAsync();
            }
            catch (Exception ex) when (ex is ConnectionAbortedException or OperationCanceledException or ObjectDisposedException
                or InvalidOperationException)
            {
                return DirectionEnd.Aborted;
            }
            catch (IOException)
            {
                // ConnectionResetException, or a TLS record that does not decrypt: the source failed.
                return DirectionEnd.SourceReset;
            }
            try
            {
                bool received = WriteAndConsume(read, source, destination);
                if (received && (await destination.FlushAsync()).IsCompleted)
                    return DirectionEnd.DestinationGone;
                if (read.IsCompleted)
                {
                    // Our FIN after the last byte; the other direction goes on (half-close).
                    await destination.CompleteAsync();
                    return DirectionEnd.Finished;
                }
                if (read.IsCanceled)
                    return DirectionEnd.Aborted;
            }
            catch (Exception ex) when (ex is ConnectionAbortedException or OperationCanceledException or ObjectDisposedException
                or InvalidOperationException)
            {
                return DirectionEnd.Aborted;
            }
            catch (IOException)
            {
                return DirectionEnd.DestinationGone;
            }
        }
    }
}
