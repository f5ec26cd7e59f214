using System.Buffers;

namespace Ferry.Protocol;

/// <summary>What <see cref="LineFramer.TryReadLine"/> found in the buffer.</summary>
public enum LineReadResult
{
    /// <summary>No complete line yet; keep the unconsumed bytes and read more.</summary>
    NeedMoreData,

    /// <summary>A complete line (terminator removed) was produced.</summary>
    Line,

    /// <summary>
    /// The current line exceeds the maximum. Reported once per over-long line; the framer
    /// then discards bytes up to and including that line's '\n', so the stream never desyncs.
    /// </summary>
    LineTooLong,
}

/// <summary>
/// Splits a byte stream into lines ended by "\n" or "\r\n", with a maximum line length.
/// Pure: all state is the one "discarding the rest of an over-long line" flag, so feeding
/// the same bytes in any chunking yields the same sequence of results.
/// </summary>
public sealed class LineFramer
{
    public const int DefaultMaxLineLength = 4096;

    private bool _discarding;

    public LineFramer(int maxLineLength = DefaultMaxLineLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineLength, 1);
        MaxLineLength = maxLineLength;
    }

    /// <summary>Longest line content accepted, in bytes, not counting the terminator.</summary>
    public int MaxLineLength { get; }

    /// <summary>True while the rest of an over-long line is being thrown away.</summary>
    public bool IsDiscarding => _discarding;

    /// <summary>
    /// Reads the next line from <paramref name="buffer"/>, advancing it past what was consumed.
    /// The returned <paramref name="line"/> slices <paramref name="buffer"/>'s memory and is
    /// valid until the caller advances its reader.
    /// </summary>
    public LineReadResult TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        line = default;
        if (_discarding && !SkipRestOfLongLine(ref buffer))
            return LineReadResult.NeedMoreData;

        // A line of MaxLineLength bytes may be followed by "\r\n": look that far and no further,
        // so a huge buffer without a newline costs a bounded scan.
        long window = Math.Min(buffer.Length, (long)MaxLineLength + 2);
        var searchable = buffer.Slice(0, window);
        var newline = searchable.PositionOf((byte)'\n');

        if (newline is null)
        {
            if (buffer.Length <= (long)MaxLineLength + 1)
                return LineReadResult.NeedMoreData;
            // Longer than any acceptable line plus a '\r': it is over-long whatever follows.
            buffer = buffer.Slice(MaxLineLength + 1);
            _discarding = true;
            SkipRestOfLongLine(ref buffer);
            return LineReadResult.LineTooLong;
        }

        var content = buffer.Slice(0, newline.Value);
        var afterNewline = buffer.GetPosition(1, newline.Value);
        if (content.Length > 0 && EndsWithCarriageReturn(content))
            content = content.Slice(0, content.Length - 1);

        buffer = buffer.Slice(afterNewline);
        if (content.Length > MaxLineLength)
            return LineReadResult.LineTooLong;

        line = content;
        return LineReadResult.Line;
    }

    /// <summary>Consumes bytes up to and including '\n'; true when the long line has ended.</summary>
    private bool SkipRestOfLongLine(ref ReadOnlySequence<byte> buffer)
    {
        var newline = buffer.PositionOf((byte)'\n');
        if (newline is null)
        {
            buffer = buffer.Slice(buffer.End);
            return false;
        }
        buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
        _discarding = false;
        return true;
    }

    private static bool EndsWithCarriageReturn(in ReadOnlySequence<byte> content)
    {
        if (content.IsSingleSegment)
            return content.FirstSpan[^1] == (byte)'\r';
        return content.Slice(content.Length - 1).FirstSpan[0] == (byte)'\r';
    }
}
