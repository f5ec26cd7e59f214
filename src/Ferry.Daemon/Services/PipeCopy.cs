using System.Buffers;
using System.IO.Pipelines;

namespace Ferry.Daemon.Services;

/// <summary>Passing what a read brought from one pipe on to another: echo's and forward's one step.</summary>
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
}
