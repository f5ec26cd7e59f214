using System.Buffers;
using System.Globalization;
using System.Text;

namespace Ferry.Protocol;

/// <summary>
/// The text rule for lines that are shown to other people (chat): bytes are decoded as UTF-8,
/// each invalid sequence becomes U+FFFD (one per maximal invalid subpart, as the Unicode
/// standard recommends), and NUL, the other C0 controls except TAB, DEL and the C1 controls are
/// removed, as are the bidi controls and line separators, so one client can neither smuggle a
/// terminal escape to others, nor end their line, nor reorder what they read.
/// Never throws, whatever the bytes.
/// </summary>
public static class LineText
{
    public static string ToDisplayText(ReadOnlySequence<byte> line)
    {
        if (line.IsSingleSegment)
            return ToDisplayText(line.FirstSpan);
        return ToDisplayText(line.ToArray());
    }

    public static string ToDisplayText(ReadOnlySpan<byte> line)
    {
        var text = new StringBuilder(line.Length);
        while (!line.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(line, out var rune, out int consumed);
            if (status != OperationStatus.Done)
                text.Append('\uFFFD');
            else if (!IsRemoved(rune))
                text.Append(rune.ToString());
            line = line[consumed..];
        }
        return text.ToString();
    }

    private static bool IsRemoved(Rune rune) =>
        (rune.Value != '\t' && Rune.GetUnicodeCategory(rune) == UnicodeCategory.Control) || IsReorderingOrBreaking(rune.Value);

    /// <summary>
    /// Characters that reorder or break the text around them on the reader's screen: the bidi
    /// embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069: "Trojan Source") and the
    /// line and paragraph separators (U+2028, U+2029). Other format characters stay: the zero-width
    /// joiner holds emoji sequences together.
    /// </summary>
    private static bool IsReorderingOrBreaking(int value) =>
        value is >= 0x202A and <= 0x202E or >= 0x2066 and <= 0x2069 or 0x2028 or 0x2029;
}
