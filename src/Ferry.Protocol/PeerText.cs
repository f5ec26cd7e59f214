using System.Buffers;
using System.Globalization;
using System.Text;

namespace Ferry.Protocol;

/// <summary>
/// Renders bytes a peer sent as one safe line of log text: printable UTF-8 stays readable,
/// everything that could end, recolour or reorder a log line (CR, LF, ESC, other control
/// characters, bidi overrides, invalid UTF-8) is shown as an escape, and the result is cut
/// at a byte limit. A peer can therefore never forge or corrupt a log line.
/// </summary>
public static class PeerText
{
    public const int DefaultMaxBytes = 256;

    public static string Escape(ReadOnlySequence<byte> bytes, int maxBytes = DefaultMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        if (bytes.IsSingleSegment)
            return Escape(bytes.FirstSpan, maxBytes);
        int take = (int)Math.Min(bytes.Length, (long)maxBytes);
        var copy = new byte[take];
        bytes.Slice(0, take).CopyTo(copy);
        return Render(copy, bytes.Length);
    }

    public static string Escape(ReadOnlySpan<byte> bytes, int maxBytes = DefaultMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        return Render(bytes[..Math.Min(bytes.Length, maxBytes)], bytes.Length);
    }

    private static string Render(ReadOnlySpan<byte> shown, long totalLength)
    {
        long omitted = totalLength - shown.Length;
        var text = new StringBuilder(shown.Length + 16);
        while (!shown.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(shown, out var rune, out int consumed);
            if (status == OperationStatus.Done)
                AppendRune(text, rune);
            else
                for (int i = 0; i < consumed; i++)
                    text.Append(CultureInfo.InvariantCulture, $"\\x{shown[i]:x2}");
            shown = shown[consumed..];
        }
        if (omitted > 0)
            text.Append(CultureInfo.InvariantCulture, $"... (+{omitted} bytes)");
        return text.ToString();
    }

    private static void AppendRune(StringBuilder text, Rune rune)
    {
        switch (rune.Value)
        {
            case '\\': text.Append("\\\\"); return;
            case '\n': text.Append("\\n"); return;
            case '\r': text.Append("\\r"); return;
            case '\t': text.Append("\\t"); return;
        }
        if (rune.Value < 0x80)
        {
            if (rune.Value < 0x20 || rune.Value == 0x7f)
                text.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:x2}");
            else
                text.Append((char)rune.Value);
            return;
        }
        var category = Rune.GetUnicodeCategory(rune);
        bool invisible = category is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
        if (invisible)
            text.Append(CultureInfo.InvariantCulture, $"\\u{{{rune.Value:x}}}");
        else
            text.Append(rune.ToString());
    }
}
