using System.Buffers;
using System.Text;
using Ferry.Protocol;

namespace Ferry.Tests;

public sealed class LineDatagramsTests
{
    /// <summary>
    /// Feeds <paramref name="chunks"/> as a reader loop does (keep the rest, append the next
    /// chunk, take datagrams until none), then ends the input; returns every datagram.
    /// </summary>
    private static List<string> Drive(int max, IEnumerable<byte[]> chunks, Func<byte[], ReadOnlySequence<byte>> toSequence)
    {
        var datagrams = new List<string>();
        byte[] pending = [];
        foreach (byte[] chunk in chunks.Append([]))
        {
            bool ended = chunk.Length == 0;
            var buffer = toSequence([.. pending, .. chunk]);
            while (LineDatagrams.TryRead(ref buffer, max, ended, out var datagram))
            {
                Assert.InRange(datagram.Length, 1, max);
                datagrams.Add(Encoding.Latin1.GetString(datagram.ToArray()));
            }
            pending = buffer.ToArray();
            // Bounded: what is left is less than one datagram.
            Assert.True(pending.Length < max, $"{pending.Length} bytes left with max {max}");
        }
        Assert.Empty(pending);
        return datagrams;
    }

    private static ReadOnlySequence<byte> Flat(byte[] bytes) => new(bytes);

    private static ReadOnlySequence<byte> ByteSegments(byte[] bytes) =>
        Sequences.FromSegments(bytes.Select(b => new[] { b }).ToArray());

    [Theory]
    [InlineData("a\nbb\nccc\n", new[] { "a\n", "bb\n", "ccc\n" })]
    [InlineData("\n\n", new[] { "\n", "\n" })]
    [InlineData("crlf\r\nkept\r\n", new[] { "crlf\r\n", "kept\r\n" })]
    [InlineData("last line unterminated", new[] { "last line unterminated" })]
    [InlineData("a\nrest", new[] { "a\n", "rest" })]
    [InlineData("", new string[0])]
    public void OneLinePerDatagramNewlineIncluded(string input, string[] expected)
    {
        byte[] bytes = Encoding.Latin1.GetBytes(input);
        Assert.Equal(expected, Drive(100, [bytes], Flat));
        Assert.Equal(expected, Drive(100, bytes.Select(b => new[] { b }), Flat));
        Assert.Equal(expected, Drive(100, [bytes], ByteSegments));
    }

    [Fact]
    public void ALineLongerThanADatagramIsSentInPiecesNothingDropped()
    {
        byte[] bytes = Encoding.Latin1.GetBytes("0123456789ABCDEF\nxy\n");
        string[] expected = ["01234", "56789", "ABCDE", "F\n", "xy\n"];
        Assert.Equal(expected, Drive(5, [bytes], Flat));
        Assert.Equal(expected, Drive(5, bytes.Select(b => new[] { b }), Flat));
        // A line of exactly the maximum, newline included, is one datagram.
        Assert.Equal(["1234\n", "5678\n"], Drive(5, [Encoding.Latin1.GetBytes("1234\n5678\n")], Flat));
    }

    [Fact]
    public void AnyChunkingGivesTheSameDatagrams()
    {
        var random = new Random(65507);
        byte[] input = new byte[20_000];
        for (int i = 0; i < input.Length; i++)
            input[i] = random.Next(12) == 0 ? (byte)'\n' : (byte)('a' + random.Next(26));
        // Some long runs without a newline, to be cut.
        input.AsSpan(1000, 300).Fill((byte)'z');
        List<string> whole = Drive(97, [input], Flat);
        Assert.Equal(input.Length, whole.Sum(datagram => datagram.Length));
        Assert.Equal(whole, Drive(97, input.Select(b => new[] { b }), Flat));
        for (int seed = 0; seed < 20; seed++)
            Assert.Equal(whole, Drive(97, Sequences.RandomChunks(input, new Random(seed), 300), bytes => Sequences.RandomlySegmented(bytes, new Random(seed))));
    }

    [Fact]
    public void NeedsMoreInputForAnUnfinishedLine()
    {
        var buffer = new ReadOnlySequence<byte>("abc"u8.ToArray());
        Assert.False(LineDatagrams.TryRead(ref buffer, 10, inputEnded: false, out _));
        Assert.Equal(3, buffer.Length);
        Assert.True(LineDatagrams.TryRead(ref buffer, 10, inputEnded: true, out var last));
        Assert.Equal("abc", Encoding.ASCII.GetString(last.ToArray()));
        Assert.True(buffer.IsEmpty);
        Assert.False(LineDatagrams.TryRead(ref buffer, 10, inputEnded: true, out _));
    }
}

public sealed class BinaryDetectionTests
{
    [Theory]
    [InlineData(new byte[] { (byte)'h', (byte)'i', (byte)'\n' }, false)]
    [InlineData(new byte[] { (byte)'\t', (byte)'\r', (byte)'\n', 0x1b, (byte)'[', (byte)'m' }, false)]
    [InlineData(new byte[] { 0xc3, 0xa9, (byte)'t', 0xc3, 0xa9 }, false)]     // "été" in UTF-8
    [InlineData(new byte[] { (byte)'a', 0xe2, 0x82 }, false)]                   // "€" cut short at the end of a read
    [InlineData(new byte[] { (byte)'a', 0, (byte)'b' }, true)]                  // NUL
    [InlineData(new byte[] { 0xe9, (byte)'t', 0xe9 }, true)]                    // Latin-1, not UTF-8
    [InlineData(new byte[] { 0xe2, 0x82, (byte)'x' }, true)]                    // a cut-short character inside
    [InlineData(new byte[] { 0xff, 0xfe }, true)]
    [InlineData(new byte[0], false)]
    public void TellsBinaryFromText(byte[] bytes, bool binary) =>
        Assert.Equal(binary, BinaryDetection.IsBinary(bytes));

    [Fact]
    public void RandomBytesAreBinary()
    {
        byte[] bytes = new byte[1000];
        new Random(7).NextBytes(bytes);
        Assert.True(BinaryDetection.IsBinary(bytes));
    }
}
