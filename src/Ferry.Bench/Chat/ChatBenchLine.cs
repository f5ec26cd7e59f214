using System.Buffers.Text;

namespace Ferry.Bench.Chat;

/// <summary>
/// The lines chat mode sends: <c>b SENDER SEQ TIMESTAMP pad…</c>, padded with a letter ramp to
/// the message size. Everything in a line follows from its three numbers, so a receiver
/// rebuilds the expected bytes and compares them all: a changed byte anywhere is caught,
/// and the sequence number catches a lost, duplicated or reordered line.
/// </summary>
internal static class ChatBenchLine
{
    /// <summary>Longest line this writes for <paramref name="size"/>, newline included.</summary>
    public static int MaxLength(int size) => Math.Max(size, 64) + 1;

    /// <summary>Writes the line (with its newline) into <paramref name="destination"/>; returns its length.</summary>
    public static int Write(Span<byte> destination, int sender, long sequence, long timestamp, int size)
    {
        int length = 0;
        destination[length++] = (byte)'b';
        destination[length++] = (byte)' ';
        length += Number(destination[length..], sender);
        destination[length++] = (byte)' ';
        length += Number(destination[length..], sequence);
        destination[length++] = (byte)' ';
        length += Number(destination[length..], timestamp);
        destination[length++] = (byte)' ';
        for (int i = 0; length < size; i++)
            destination[length++] = (byte)('a' + (int)((sequence + i) % 26));
        destination[length++] = (byte)'\n';
        return length;
    }

    /// <summary>
    /// Reads a relayed line's text (after the <c>&lt;nick&gt; </c> prefix, without newline):
    /// its three numbers, and whether every byte is what those numbers say was sent.
    /// </summary>
    public static bool TryRead(
        ReadOnlySpan<byte> text, int size, Span<byte> scratch, out int sender, out long sequence, out long timestamp, out bool intact)
    {
        sender = 0;
        sequence = 0;
        timestamp = 0;
        intact = false;
        if (text.Length < 2 || text[0] != (byte)'b' || text[1] != (byte)' ')
            return false;
        ReadOnlySpan<byte> rest = text[2..];
        if (!Utf8Parser.TryParse(rest, out sender, out int used) || used >= rest.Length || rest[used] != (byte)' ')
            return false;
        rest = rest[(used + 1)..];
        if (!Utf8Parser.TryParse(rest, out sequence, out used) || used >= rest.Length || rest[used] != (byte)' ')
            return false;
        rest = rest[(used + 1)..];
        if (!Utf8Parser.TryParse(rest, out timestamp, out used))
            return false;
        int expectedLength = Write(scratch, sender, sequence, timestamp, size) - 1;
        intact = text.SequenceEqual(scratch[..expectedLength]);
        return true;
    }

    private static int Number(Span<byte> destination, long value)
    {
        Utf8Formatter.TryFormat(value, destination, out int written);
        return written;
    }
}
