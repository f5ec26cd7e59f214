using System.Buffers;
using Ferry.Protocol;

namespace Ferry.Tests;

public sealed class LineTextTests
{
    [Fact]
    public void ValidUtf8AndTab_AreKept() =>
        Assert.Equal("café\t日本 🙂", LineText.ToDisplayText("café\t日本 🙂"u8));

    [Fact]
    public void NulAndControlCharacters_AreRemoved() =>
        Assert.Equal("abc[31mdx", LineText.ToDisplayText("a\0b\u0007c\u001b[31md\u007f\u0085x"u8));

    [Theory]
    [InlineData(new byte[] { 0xff }, "\uFFFD")]
    [InlineData(new byte[] { 0x61, 0xc3 }, "a\uFFFD")] // truncated sequence at the end
    [InlineData(new byte[] { 0xe2, 0x82, 0x61 }, "\uFFFDa")] // maximal subpart: one replacement
    [InlineData(new byte[] { 0xc0, 0xaf }, "\uFFFD\uFFFD")] // overlong encoding of '/'
    [InlineData(new byte[] { 0xed, 0xa0, 0x80 }, "\uFFFD\uFFFD\uFFFD")] // a surrogate
    public void InvalidUtf8_BecomesReplacementCharacters(byte[] input, string expected) =>
        Assert.Equal(expected, LineText.ToDisplayText(input));

    [Fact]
    public void SegmentedInput_GivesTheSameText()
    {
        byte[] input = [.. "x\u00e9"u8, 0xff, .. "\u65e5\0y"u8];
        string expected = LineText.ToDisplayText(input);
        for (int seed = 0; seed < 20; seed++)
            Assert.Equal(expected, LineText.ToDisplayText(Sequences.RandomlySegmented(input, new Random(seed), 2)));
        Assert.Equal("xé\uFFFD日y", expected);
    }

    [Fact]
    public void EveryByteValue_NeverThrows()
    {
        var all = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();
        string text = LineText.ToDisplayText(new ReadOnlySequence<byte>(all));
        Assert.DoesNotContain('\0', text);
        Assert.DoesNotContain('\u001b', text);
    }

    [Fact]
    public void BidiControlsAndLineSeparatorsAreRemovedButEmojiSequencesStay()
    {
        // "Trojan Source": an override makes "evil" read as "live"; U+2028 would break the line for some readers.
        string sent = "a\u202Eevil\u202C b\u2066x\u2069 c\u2028d\u2029e 👨\u200D👩\u200D👧";
        Assert.Equal("aevil bx cde 👨\u200D👩\u200D👧", LineText.ToDisplayText(System.Text.Encoding.UTF8.GetBytes(sent)));
    }
}
