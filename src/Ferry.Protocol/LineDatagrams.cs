using System.Buffers;

namespace Ferry.Protocol;

/// <summary>
/// Cuts text into datagrams of one line each, the '\n' included (what <c>nc -u</c> sends for a
/// line typed at a terminal), for <c>ferry -u</c> and <c>ferry listen -u</c>. A line longer
/// than the largest datagram is sent in pieces of that size, its last piece carrying the
/// newline: nothing is dropped and the stream never desyncs. At the end of the input, an
/// unterminated last line is a datagram of its own.
/// Pure and stateless, so the same bytes in any chunking give the same datagrams.
/// </summary>
public static class LineDatagrams
{
    /// <summary>
    /// Takes the next datagram off the front of <paramref name="buffer"/>. Returns false when
    /// more input is needed (or, once <paramref name="inputEnded"/>, when nothing is left).
    /// <paramref name="datagram"/> slices <paramref name="buffer"/>'s memory.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxLength, bool inputEnded, out ReadOnlySequence<byte> datagram)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        datagram = default;
        if (buffer.IsEmpty)
            return false;

        // Look no further than one datagram: a long buffer without a newline costs a bounded scan.
        var window = buffer.Slice(0, Math.Min(buffer.Length, maxLength));
        SequencePosition? newline = window.PositionOf((byte)'\n');
        SequencePosition end;
        if (newline is not null)
            end = buffer.GetPosition(1, newline.Value);
        else if (buffer.Length >= maxLength || inputEnded)
            end = window.End;
        else
            return false;

        datagram = buffer.Slice(0, end);
        buffer = buffer.Slice(end);
        return true;
    }
}
