using System.Buffers;
using System.Text;
using Ferry.Protocol;

namespace Ferry.Tests;

public sealed class LineFramerTests
{
    private const string TooLong = "<too long>";

    // ---- driver ---------------------------------------------------------------------------

    /// <summary>
    /// Simulates a PipeReader loop: keep the unconsumed bytes, append the next chunk, call
    /// TryReadLine until NeedMoreData. Returns every line (Latin-1 text) and LineTooLong event.
    /// </summary>
    private static List<string> Drive(int max, IEnumerable<byte[]> chunks, Func<byte[], ReadOnlySequence<byte>> toSequence)
    {
        var framer = new LineFramer(max);
        var events = new List<string>();
        byte[] pending = [];
        foreach (var chunk in chunks)
        {
            byte[] combined = [.. pending, .. chunk];
            var buffer = toSequence(combined);
            int guard = combined.Length + 2;
            while (true)
            {
                Assert.True(guard-- > 0, "the framer returned results without consuming input");
                var result = framer.TryReadLine(ref buffer, out var line);
                if (result == LineReadResult.NeedMoreData)
                    break;
                if (result == LineReadResult.Line)
                    events.Add(Encoding.Latin1.GetString(line.ToArray()));
                else
                {
                    Assert.Equal(LineReadResult.LineTooLong, result);
                    events.Add(TooLong);
                }
            }
            pending = buffer.ToArray();
            // Bounded memory: what the framer leaves unconsumed is at most one acceptable line plus '\r'.
            Assert.True(pending.Length <= max + 1, $"framer left {pending.Length} bytes unconsumed with max {max}");
        }
        return events;
    }

    private static ReadOnlySequence<byte> Flat(byte[] bytes) => new(bytes);

    private static ReadOnlySequence<byte> ByteSegments(byte[] bytes) =>
        Sequences.FromSegments(bytes.Select(b => new[] { b }).ToArray());

    private static List<string> AllAtOnce(int max, byte[] input) => Drive(max, [input], Flat);

    private static List<string> AllAtOnceByteSegments(int max, byte[] input) => Drive(max, [input], ByteSegments);

    private static List<string> OneByteAtATime(int max, byte[] input) =>
        Drive(max, input.Select(b => new[] { b }), Flat);

    private static List<string> RandomChunks(int max, byte[] input, int seed)
    {
        var random = new Random(seed);
        return Drive(max, Sequences.RandomChunks(input, random, max + 3), bytes => Sequences.RandomlySegmented(bytes, random, 3));
    }

    /// <summary>Asserts that every way of feeding <paramref name="text"/> gives <paramref name="expected"/>.</summary>
    private static void AssertFrames(int max, string text, params string[] expected)
    {
        byte[] input = Encoding.Latin1.GetBytes(text);
        Assert.Equal(expected, AllAtOnce(max, input));
        Assert.Equal(expected, OneByteAtATime(max, input));
        Assert.Equal(expected, AllAtOnceByteSegments(max, input));
        for (int seed = 1; seed <= 20; seed++)
            Assert.Equal(expected, RandomChunks(max, input, seed));
    }

    // ---- cases ----------------------------------------------------------------------------

    [Fact]
    public void Constructor_RejectsMaxBelowOne()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LineFramer(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LineFramer(-1));
        Assert.Equal(1, new LineFramer(1).MaxLineLength);
        Assert.Equal(LineFramer.DefaultMaxLineLength, new LineFramer().MaxLineLength);
    }

    [Fact]
    public void SimpleLines_LfAndCrLf() =>
        AssertFrames(10, "hello\nworld\r\nbye\n", "hello", "world", "bye");

    [Fact]
    public void ExactlyMaxLength_WithLf_IsALine() => AssertFrames(5, "abcde\n", "abcde");

    [Fact]
    public void ExactlyMaxLength_WithCrLf_IsALine() => AssertFrames(5, "abcde\r\n", "abcde");

    [Fact]
    public void MaxPlusOne_WithLf_IsTooLong() => AssertFrames(5, "abcdef\n", TooLong);

    [Fact]
    public void MaxPlusOne_WithCrLf_IsTooLong() => AssertFrames(5, "abcdef\r\n", TooLong);

    [Fact]
    public void MaxLengthFollowedByCrThenOtherByte_IsTooLong() =>
        // "abcde\rx" is 7 bytes of content: the '\r' is not a terminator here.
        AssertFrames(5, "abcde\rx\nok\n", TooLong, "ok");

    [Fact]
    public void MaxLength_OfOne() => AssertFrames(1, "a\nab\n\r\n\nb\r\n", "a", TooLong, "", "", "b");

    [Fact]
    public void OverLongLine_FollowedByNormalLines_DoesNotDesync() =>
        AssertFrames(5, "0123456789abcdefghij\nxy\n\nz\r\nabcde\n", TooLong, "xy", "", "z", "abcde");

    [Fact]
    public void SeveralOverLongLines_EachReportedOnce() =>
        AssertFrames(3, "aaaaaaaaaaaaaaaa\nbbbbbbbbbbb\r\nok\ncccc\n", TooLong, TooLong, "ok", TooLong);

    [Fact]
    public void EmptyLines() => AssertFrames(4, "\n\r\n\n", "", "", "");

    [Fact]
    public void BareCarriageReturnInsideLine_IsKept() =>
        AssertFrames(10, "a\rb\n\r\r\n\rx\r\n", "a\rb", "\r", "\rx");

    [Fact]
    public void MaxLengthContentEndingInCr_ThenCrLf_IsALine() =>
        // Content "abcd\r" is exactly 5 bytes; the second '\r' belongs to the terminator.
        AssertFrames(5, "abcd\r\r\n", "abcd\r");

    [Fact]
    public void NonAsciiBytes_PassThrough() =>
        AssertFrames(8, "\u00e9\u00ff\0\u001b\n", "\u00e9\u00ff\0\u001b");

    [Fact]
    public void DefaultMax_4096Accepted_4097TooLong()
    {
        string ok = new('a', 4096);
        string tooLong = new('b', 4097);
        byte[] input = Encoding.Latin1.GetBytes(ok + "\r\n" + tooLong + "\n" + "end\n");
        string[] expected = [ok, TooLong, "end"];
        Assert.Equal(expected, Drive(LineFramer.DefaultMaxLineLength, [input], Flat));
        Assert.Equal(expected, Drive(LineFramer.DefaultMaxLineLength, input.Chunk(100), Flat));
        Assert.Equal(expected, OneByteAtATime(LineFramer.DefaultMaxLineLength, input));
    }

    [Fact]
    public void OverLongLineWithoutNewline_IsReportedEarly_ThenNewlineLaterResyncs()
    {
        var framer = new LineFramer(5);
        var buffer = new ReadOnlySequence<byte>("0123456789"u8.ToArray());

        // Reported as soon as it is certain, before the newline arrives; all of it is consumed.
        Assert.Equal(LineReadResult.LineTooLong, framer.TryReadLine(ref buffer, out _));
        Assert.True(buffer.IsEmpty);
        Assert.True(framer.IsDiscarding);
        Assert.Equal(LineReadResult.NeedMoreData, framer.TryReadLine(ref buffer, out _));

        // More of the same line: swallowed silently, not reported again.
        buffer = new ReadOnlySequence<byte>("still the same line"u8.ToArray());
        Assert.Equal(LineReadResult.NeedMoreData, framer.TryReadLine(ref buffer, out _));
        Assert.True(buffer.IsEmpty);
        Assert.True(framer.IsDiscarding);

        // The newline finally arrives, followed by a good line in the same chunk.
        buffer = new ReadOnlySequence<byte>("tail\r\nok\nxy"u8.ToArray());
        Assert.Equal(LineReadResult.Line, framer.TryReadLine(ref buffer, out var line));
        Assert.Equal("ok"u8.ToArray(), line.ToArray());
        Assert.False(framer.IsDiscarding);
        Assert.Equal(LineReadResult.NeedMoreData, framer.TryReadLine(ref buffer, out _));
        Assert.Equal("xy"u8.ToArray(), buffer.ToArray());
    }

    [Fact]
    public void OverLongLineWithoutNewline_ChunkedDriver_SameEvents()
    {
        byte[][] chunks = ["0123456789"u8.ToArray(), "more"u8.ToArray(), "x\nok\n"u8.ToArray()];
        Assert.Equal([TooLong, "ok"], Drive(5, chunks, Flat));
        Assert.Equal([TooLong, "ok"], AllAtOnce(5, [.. chunks.SelectMany(c => c)]));
    }

    [Fact]
    public void UnterminatedShortLine_WaitsAndKeepsBytes()
    {
        var framer = new LineFramer(5);
        var buffer = new ReadOnlySequence<byte>("abcde\r"u8.ToArray());
        // Max-length content plus '\r': could still become a valid line.
        Assert.Equal(LineReadResult.NeedMoreData, framer.TryReadLine(ref buffer, out _));
        Assert.Equal(6, buffer.Length);
        Assert.False(framer.IsDiscarding);
    }

    [Fact]
    public void LineSplitAcrossSegments()
    {
        var framer = new LineFramer(10);
        var buffer = Sequences.FromSegments("ab"u8.ToArray(), "c\r"u8.ToArray(), "\nd"u8.ToArray(), "e"u8.ToArray(), "\n"u8.ToArray());
        Assert.False(buffer.IsSingleSegment);

        Assert.Equal(LineReadResult.Line, framer.TryReadLine(ref buffer, out var first));
        Assert.Equal("abc"u8.ToArray(), first.ToArray());
        Assert.Equal(LineReadResult.Line, framer.TryReadLine(ref buffer, out var second));
        Assert.Equal("de"u8.ToArray(), second.ToArray());
        Assert.Equal(LineReadResult.NeedMoreData, framer.TryReadLine(ref buffer, out _));
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void CrAloneInLastSegmentBeforeLf_IsStripped()
    {
        var framer = new LineFramer(10);
        var buffer = Sequences.FromSegments("abc"u8.ToArray(), "\r"u8.ToArray(), "\n"u8.ToArray());
        Assert.Equal(LineReadResult.Line, framer.TryReadLine(ref buffer, out var line));
        Assert.Equal("abc"u8.ToArray(), line.ToArray());
    }

    [Fact]
    public void HugeBufferWithoutNewline_IsRejectedAtOnce()
    {
        var framer = new LineFramer(16);
        var buffer = new ReadOnlySequence<byte>(new byte[1 << 20]);
        Assert.Equal(LineReadResult.LineTooLong, framer.TryReadLine(ref buffer, out _));
        Assert.True(buffer.IsEmpty);
        Assert.True(framer.IsDiscarding);
    }

    /// <summary>
    /// Random streams over {'a', '\r', '\n'}: every chunking agrees with every other and with a
    /// straightforward reference model of the framing rules.
    /// </summary>
    [Fact]
    public void RandomStreams_AllChunkingsAgreeWithReferenceModel()
    {
        var random = new Random(20240611);
        byte[] alphabet = "aaaab\r\n"u8.ToArray();
        for (int iteration = 0; iteration < 300; iteration++)
        {
            int max = random.Next(1, 9);
            var input = new byte[random.Next(0, 60)];
            for (int i = 0; i < input.Length; i++)
                input[i] = alphabet[random.Next(alphabet.Length)];

            var expected = ReferenceModel(max, input);
            string context = $"max={max} input={Convert.ToHexString(input)}";
            Assert.True(expected.SequenceEqual(AllAtOnce(max, input)), "all at once: " + context);
            Assert.True(expected.SequenceEqual(OneByteAtATime(max, input)), "byte at a time: " + context);
            Assert.True(expected.SequenceEqual(AllAtOnceByteSegments(max, input)), "byte segments: " + context);
            Assert.True(expected.SequenceEqual(RandomChunks(max, input, iteration)), "random chunks: " + context);
        }
    }

    private static List<string> ReferenceModel(int max, byte[] input)
    {
        var events = new List<string>();
        string text = Encoding.Latin1.GetString(input);
        string[] pieces = text.Split('\n');
        for (int i = 0; i < pieces.Length - 1; i++)
        {
            string content = pieces[i].EndsWith('\r') ? pieces[i][..^1] : pieces[i];
            events.Add(content.Length > max ? TooLong : content);
        }
        // The unterminated tail is known to be too long once it exceeds max + 1 ('\r' may still end it).
        if (pieces[^1].Length > max + 1)
            events.Add(TooLong);
        return events;
    }
}
