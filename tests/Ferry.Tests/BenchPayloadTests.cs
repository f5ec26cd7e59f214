
namespace Ferry.Tests;

/// <summary>ferry bench's byte verification: what it must accept and what it must catch.</summary>
public sealed class BenchPayloadTests
{
    [Theory]
    [InlineData(0, 0L, 64)]
    [InlineData(7, 250L, 64)]
    [InlineData(99, 1_000_003L, 1000)]
    [InlineData(int.MaxValue, 5L, 4096)]
    public void AnExactEchoHasNoMismatches(int seed, long offset, int length)
    {
        var pattern = new PayloadPattern(4096);
        byte[] echo = pattern.Slice(seed, offset, length).ToArray();

        Assert.Equal(0, pattern.CountMismatches(seed, offset, echo));
    }

    [Fact]
    public void AnEchoArrivingInPiecesChecksOutPieceByPiece()
    {
        var pattern = new PayloadPattern(64);
        byte[] message = pattern.Slice(3, 128, 64).ToArray();

        int mismatches = 0;
        for (int i = 0; i < message.Length; i++)
            mismatches += pattern.CountMismatches(3, 128 + i, message.AsSpan(i, 1));

        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void OneFlippedByteIsOneMismatch()
    {
        var pattern = new PayloadPattern(64);
        byte[] echo = pattern.Slice(1, 0, 64).ToArray();
        echo[17] ^= 0x01;

        Assert.Equal(1, pattern.CountMismatches(1, 0, echo));
    }

    [Fact]
    public void ALostByteShiftsEverythingAfterIt()
    {
        var pattern = new PayloadPattern(64);
        byte[] sent = pattern.Slice(0, 0, 64).ToArray();
        byte[] echo = [.. sent[..10], .. sent[11..], 0];

        // Bytes 10..63 are all one step ahead of where they should be.
        Assert.Equal(54, pattern.CountMismatches(0, 0, echo));
    }

    [Fact]
    public void BytesFromAnotherConnectionDoNotPassAsOurs()
    {
        var pattern = new PayloadPattern(64);
        byte[] theirs = pattern.Slice(2, 0, 64).ToArray();

        Assert.Equal(64, pattern.CountMismatches(1, 0, theirs));
    }

    [Fact]
    public void ARepeatedMessageIsCaughtAtTheNextOffset()
    {
        var pattern = new PayloadPattern(64);
        byte[] first = pattern.Slice(0, 0, 64).ToArray();

        // 64 is not a multiple of the pattern's prime period, so a replay never lines up.
        Assert.Equal(64, pattern.CountMismatches(0, 64, first));
    }

    [Fact]
    public void ReceivesLongerThanOneSliceAreCheckedWhole()
    {
        var pattern = new PayloadPattern(100);
        byte[] echo = new byte[1000];
        for (int offset = 0; offset < echo.Length; offset += 100)
            pattern.Slice(5, offset, 100).CopyTo(echo.AsMemory(offset));
        echo[999] ^= 0xFF;

        Assert.Equal(1, pattern.CountMismatches(5, 0, echo));
    }

    [Fact]
    public void CorruptionIsCountedAsAnErrorWithItsBytes()
    {
        var tally = new ConnectionTally(recordsLatency: false);

        tally.CountCorruption(3);
        tally.CountError("reset");

        Assert.Equal(2, tally.Errors);
        Assert.Equal(3, tally.CorruptBytes);
        Assert.Contains("3 byte(s)", tally.FirstError);
    }

    [Fact]
    public void SlicesLongerThanThePatternWasBuiltForAreRefused()
    {
        var pattern = new PayloadPattern(64);

        Assert.Throws<ArgumentOutOfRangeException>(() => pattern.Slice(0, 0, 65));
    }
}
