using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Ferry.Daemon.Logging;

/// <summary>
/// Writes a log message to UTF-8 a piece at a time, straight into the line's room: ASCII text is
/// narrowed without the encoder, numbers formatted in place. Running out of room is remembered
/// and told once, by <see cref="TryFinish"/>, so the caller tries again with more.
/// </summary>
internal ref struct Utf8LineWriter(Span<byte> destination)
{
    private readonly Span<byte> _destination = destination;
    private int _written;
    private bool _short;

    public void Append(scoped ReadOnlySpan<byte> utf8)
    {
        if (utf8.TryCopyTo(_destination[_written..]))
            _written += utf8.Length;
        else
            _short = true;
    }

    public void Append(string text)
    {
        var room = _destination[_written..];
        int written;
        if (text.Length <= room.Length && Ascii.FromUtf16(text, room, out written) == OperationStatus.Done)
            _written += written;
        else if (Encoding.UTF8.TryGetBytes(text, room, out written)) // not all ASCII
            _written += written;
        else
            _short = true;
    }

    public void Append(long value) => Advance(Utf8Formatter.TryFormat(value, _destination[_written..], out int written), written);

    public void AppendHex(long value) =>
        Advance(Utf8Formatter.TryFormat((ulong)value, _destination[_written..], out int written, new StandardFormat('x')), written);

    /// <summary>What was written, or false when the room was too short for it all.</summary>
    public readonly bool TryFinish(out int written)
    {
        written = _short ? 0 : _written;
        return !_short;
    }

    private void Advance(bool fitted, int written)
    {
        if (fitted)
            _written += written;
        else
            _short = true;
    }
}
