using System.Text;

namespace Ferry.Tests;

/// <summary>Chat mode's lines: what a receiver reads back out of them, and what it must catch.</summary>
public sealed class BenchChatLineTests
{
    [Theory]
    [InlineData(0, 0L, 64)]
    [InlineData(999, 123_456_789L, 200)]
    [InlineData(7, 3L, 10)]
    public void ALineReadsBackAsSentAndIntact(int sender, long sequence, int size)
    {
        var line = new byte[ChatBenchLine.MaxLength(size)];
        int length = ChatBenchLine.Write(line, sender, sequence, timestamp: 42_000_000_001, size);
        var scratch = new byte[ChatBenchLine.MaxLength(size)];

        bool read = ChatBenchLine.TryRead(line.AsSpan(0, length - 1), size, scratch, out int s, out long q, out long t, out bool intact);

        Assert.True(read);
        Assert.Equal((sender, sequence, 42_000_000_001L), (s, q, t));
        Assert.True(intact);
        Assert.Equal((byte)'\n', line[length - 1]);
        Assert.True(length - 1 >= size);
    }

    [Fact]
    public void OneChangedPaddingByteIsNotIntact()
    {
        var line = new byte[ChatBenchLine.MaxLength(64)];
        int length = ChatBenchLine.Write(line, 3, 17, 5, 64);
        line[length - 5] ^= 0x20;

        bool read = ChatBenchLine.TryRead(line.AsSpan(0, length - 1), 64, new byte[65], out _, out _, out _, out bool intact);

        Assert.True(read);
        Assert.False(intact);
    }

    [Fact]
    public void ACutLineIsNotIntact()
    {
        var line = new byte[ChatBenchLine.MaxLength(64)];
        int length = ChatBenchLine.Write(line, 3, 17, 5, 64);

        bool read = ChatBenchLine.TryRead(line.AsSpan(0, length - 10), 64, new byte[65], out _, out _, out _, out bool intact);

        Assert.True(read);
        Assert.False(intact);
    }

    [Theory]
    [InlineData("hello everyone")]
    [InlineData("b x 1 2 pad")]
    [InlineData("b 1 2")]
    [InlineData("")]
    public void ALineNoMemberSentIsNotRead(string text)
    {
        bool read = ChatBenchLine.TryRead(Encoding.ASCII.GetBytes(text), 64, new byte[65], out _, out _, out _, out _);

        Assert.False(read);
    }
}
