using System.Buffers;
using System.Text;
using Ferry.Protocol;

namespace Ferry.Tests;

public sealed class PeerTextTests
{
    private static string Escape(string text, int maxBytes = PeerText.DefaultMaxBytes) =>
        PeerText.Escape(Encoding.UTF8.GetBytes(text), maxBytes);

    private static string Escape(byte[] bytes, int maxBytes = PeerText.DefaultMaxBytes) =>
        PeerText.Escape(bytes.AsSpan(), maxBytes);

    [Theory]
    [InlineData("plain text 123 ~!", "plain text 123 ~!")]
    [InlineData("\u001b[31mred", "\\x1b[31mred")]
    [InlineData("a\rb", "a\\rb")]
    [InlineData("a\nb", "a\\nb")]
    [InlineData("a\tb", "a\\tb")]
    [InlineData("line\r\n", "line\\r\\n")]
    [InlineData("back\\slash", "back\\\\slash")]
    [InlineData("\u007f", "\\x7f")]
    [InlineData("\0", "\\x00")]
    [InlineData("\u0001\u001f", "\\x01\\x1f")]
    [InlineData("h\u00e9llo \u4f60\u597d", "h\u00e9llo \u4f60\u597d")]
    [InlineData("\U0001F600", "\U0001F600")]
    [InlineData("a\u2028b", "a\\u{2028}b")]
    [InlineData("a\u2029b", "a\\u{2029}b")]
    [InlineData("evil\u202Etxt.exe", "evil\\u{202e}txt.exe")]
    [InlineData("\u0085", "\\u{85}")]
    [InlineData("\u200B", "\\u{200b}")]
    [InlineData("", "")]
    public void EscapesAsDocumented(string input, string expected) => Assert.Equal(expected, Escape(input));

    [Theory]
    [InlineData(new byte[] { 0xff }, "\\xff")]
    [InlineData(new byte[] { 0xff, 0x41 }, "\\xffA")]
    [InlineData(new byte[] { 0x41, 0xc3 }, "A\\xc3")] // truncated 2-byte sequence
    [InlineData(new byte[] { 0xc0, 0xaf }, "\\xc0\\xaf")] // overlong encoding of '/'
    [InlineData(new byte[] { 0xed, 0xa0, 0x80 }, "\\xed\\xa0\\x80")] // encoded surrogate
    [InlineData(new byte[] { 0x80, 0x80, 0x41 }, "\\x80\\x80A")] // stray continuation bytes
    [InlineData(new byte[] { 0xe4, 0xbd, 0x41 }, "\\xe4\\xbdA")] // cut 3-byte sequence then ASCII
    public void InvalidUtf8_ShownAsHexBytes(byte[] input, string expected) => Assert.Equal(expected, Escape(input));

    [Fact]
    public void BackslashIsDoubled_SoEscapesCannotBeForged()
    {
        // A peer typing the four characters \x1b must not look like a real ESC byte.
        string literal = Escape("\\x1b");
        string real = Escape("\u001b");
        Assert.Equal("\\\\x1b", literal);
        Assert.Equal("\\x1b", real);
        Assert.NotEqual(real, literal);
        Assert.NotEqual(Escape("\n"), Escape("\\n"));
    }

    [Fact]
    public void Truncation_AppendsOmittedCount()
    {
        Assert.Equal(new string('a', 256) + "... (+44 bytes)", Escape(new string('a', 300)));
        Assert.Equal("abc... (+2 bytes)", Escape("abcde", 3));
        Assert.Equal("... (+3 bytes)", Escape("abc", 0));
    }

    [Fact]
    public void ExactlyMaxBytes_IsNotTruncated()
    {
        Assert.Equal("abc", Escape("abc", 3));
        Assert.Equal(new string('z', 256), Escape(new string('z', 256)));
    }

    [Fact]
    public void Truncation_CountsBytesNotCharacters()
    {
        // "你" is 3 bytes (e4 bd a0): cutting after 2 leaves an invalid tail shown as hex.
        Assert.Equal("\\xe4\\xbd... (+1 bytes)", Escape("\u4f60", 2));
        // Escapes expand the text but the limit applies to the input bytes.
        Assert.Equal("\\x1b\\x1b... (+1 bytes)", Escape("\u001b\u001b\u001b", 2));
    }

    [Fact]
    public void NegativeMaxBytes_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PeerText.Escape("abc"u8, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PeerText.Escape(new ReadOnlySequence<byte>("abc"u8.ToArray()), -1));
    }

    [Fact]
    public void NegativeMaxBytes_MultiSegmentSequence_ThrowsLikeTheSpanOverload()
    {
        var sequence = Sequences.FromSegments("ab"u8.ToArray(), "c"u8.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => PeerText.Escape(sequence, -1));
    }

    [Fact]
    public void MultiSegmentSequence_MatchesFlatSpan()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("h\u00e9llo \u4f60\u597d\r\n\u001b[0m\\ \u202E end");
        string flat = PeerText.Escape(bytes);
        // Segment boundaries inside multi-byte characters must not change the rendering.
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            var sequence = Sequences.FromSegments(bytes[..cut], bytes[cut..]);
            Assert.Equal(flat, PeerText.Escape(sequence));
            Assert.Equal(PeerText.Escape(bytes, 5), PeerText.Escape(sequence, 5));
        }
    }

    [Fact]
    public void MultiSegmentSequence_TruncatesLikeFlatSpan()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(new string('x', 250) + "\u4f60\u597d" + new string('y', 100));
        var sequence = Sequences.RandomlySegmented(bytes, new Random(7), maxSegment: 40);
        Assert.False(sequence.IsSingleSegment);
        string flat = PeerText.Escape(bytes);
        Assert.EndsWith($"... (+{bytes.Length - 256} bytes)", flat);
        Assert.Equal(flat, PeerText.Escape(sequence));
    }

    /// <summary>C0 and C1 controls, DEL, line/paragraph separators and bidi controls.</summary>
    private static readonly System.Buffers.SearchValues<char> UnsafeChars = System.Buffers.SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(i => (char)i), .. Enumerable.Range(0x7f, 0x21).Select(i => (char)i),
         '\u2028', '\u2029', .. Enumerable.Range(0x202a, 5).Select(i => (char)i), .. Enumerable.Range(0x2066, 4).Select(i => (char)i)]);

    [Fact]
    public void RandomBytes_OutputIsAlwaysOneSafeLine()
    {
        var random = new Random(4242);
        // Bias towards the interesting bytes: controls, DEL, '\\' and UTF-8 lead/continuation bytes.
        byte[] interesting = [0x00, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b, 0x5c, 0x7f, 0x80, 0x85, 0xc2, 0xe2, 0x80, 0xa8, 0xae, 0xef, 0xf0, 0xff];
        for (int iteration = 0; iteration < 3000; iteration++)
        {
            var bytes = new byte[random.Next(0, 80)];
            for (int i = 0; i < bytes.Length; i++)
                bytes[i] = random.Next(3) == 0 ? (byte)random.Next(256) : interesting[random.Next(interesting.Length)];
            int max = random.Next(0, 100);

            string text = PeerText.Escape(bytes, max);
            int bad = text.AsSpan().IndexOfAny(UnsafeChars);
            if (bad >= 0)
                Assert.Fail($"unsafe char U+{(int)text[bad]:X4} in output for {Convert.ToHexString(bytes)}: {text}");
            if (bytes.Length > max)
                Assert.EndsWith($"... (+{bytes.Length - max} bytes)", text);

            if (bytes.Length > 0)
                Assert.Equal(text, PeerText.Escape(Sequences.RandomlySegmented(bytes, random, 9), max));
        }
    }
}
