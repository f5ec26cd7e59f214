using System.Buffers;
using System.Buffers.Text;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Ferry.Daemon.Logging;

/// <summary>
/// Writes a log message to UTF-8 a piece at a time, straight into the line's room: ASCII text is
/// narrowed without the encoder, numbers formatted in place. Running out of room is remembered
/// and told once, by <see cref="TryFinish"/>, so the caller tries again with more.
/// </summary>
internal ref struct Utf8LineWriter(Span<byte> destination)
{
    private readonly int _room = destination.Length;
    private Span<byte> _rest = destination;
    private bool _short;

    /// <summary>
    /// Inlined so that a <c>"..."u8</c> literal's length is a constant where it is called, which
    /// lets the compiler copy it in a few moves instead of a call per piece.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(scoped ReadOnlySpan<byte> utf8)
    {
        if (utf8.TryCopyTo(_rest))
            Advance(utf8.Length);
        else
            _short = true;
    }

    public void Append(string text)
    {
        int written;
        if (text.Length <= _rest.Length && Ascii.FromUtf16(text, _rest, out written) == OperationStatus.Done)
            Advance(written);
        else if (Encoding.UTF8.TryGetBytes(text, _rest, out written)) // not all ASCII
            Advance(written);
        else
            _short = true;
    }

    public void Append(long value)
    {
        if (Utf8Formatter.TryFormat(value, _rest, out int written))
            Advance(written);
        else
            _short = true;
    }

    /// <summary>The value in lower-case hex, as many digits as it needs: a connection id.</summary>
    public void AppendHex(long value)
    {
        ulong bits = (ulong)value;
        int digits = Math.Max(1, (67 - BitOperations.LeadingZeroCount(bits)) / 4);
        if (digits > _rest.Length)
        {
            _short = true;
            return;
        }
        for (int i = digits - 1; i >= 0; i--, bits >>= 4)
            _rest[i] = "0123456789abcdef"u8[(int)(bits & 0xf)];
        Advance(digits);
    }

    /// <summary>What was written, or false when the room was too short for it all.</summary>
    public readonly bool TryFinish(out int written)
    {
        written = _short ? 0 : _room - _rest.Length;
        return !_short;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Advance(int written) => _rest = _rest[written..];
}
