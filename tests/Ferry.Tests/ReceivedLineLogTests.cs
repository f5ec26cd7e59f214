using System.Buffers;
using System.Text;
using Ferry.Daemon.Connections;
using Ferry.Protocol;

namespace Ferry.Tests;

public sealed class ReceivedLineLogTests
{
    private readonly List<string> _logged = [];
    private readonly ReceivedLineLog _log;

    public ReceivedLineLogTests() => _log = new ReceivedLineLog(_logged.Add);

    private void Observe(string text) => _log.Observe(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(text)));

    private void Observe(byte[] bytes) => _log.Observe(new ReadOnlySequence<byte>(bytes));

    [Fact]
    public void LineSplitAcrossObserveCalls_IsLoggedWhole()
    {
        Observe("hel");
        Assert.Empty(_logged);
        Observe("lo");
        Observe(" world\nsec");
        Assert.Equal(["hello world"], _logged);
        Observe("ond\n");
        Assert.Equal(["hello world", "second"], _logged);
    }

    [Fact]
    public void SeveralLinesInOneCall()
    {
        Observe("a\nbb\n\nccc\n");
        Assert.Equal(["a", "bb", "", "ccc"], _logged);
    }

    [Fact]
    public void CrLfIsStripped_EvenWhenCrAndLfArriveSeparately()
    {
        Observe("one\r\ntwo\r");
        Observe("\nthree\r\n\r\n");
        Assert.Equal(["one", "two", "three", ""], _logged);
    }

    [Fact]
    public void BareCrInsideLine_IsShownEscaped()
    {
        Observe("a\rb\n");
        Assert.Equal(["a\\rb"], _logged);
    }

    [Fact]
    public void MultiSegmentSequence()
    {
        _log.Observe(Sequences.FromSegments("ab"u8.ToArray(), "c\r"u8.ToArray(), "\nd"u8.ToArray(), "e\n"u8.ToArray()));
        Assert.Equal(["abc", "de"], _logged);
    }

    [Fact]
    public void EscIsEscaped()
    {
        Observe("\u001b[2J\u001b[31mred\n");
        Assert.Equal(["\\x1b[2J\\x1b[31mred"], _logged);
        Assert.DoesNotContain('\u001b', _logged[0]);
    }

    [Fact]
    public void Flush_LogsTrailingPartialLine_Once()
    {
        Observe("done\nno newline");
        Assert.Equal(["done"], _logged);
        _log.Flush();
        Assert.Equal(["done", "no newline"], _logged);
        _log.Flush();
        Assert.Equal(["done", "no newline"], _logged);
    }

    [Fact]
    public void Flush_WithNothingPending_LogsNothing()
    {
        _log.Flush();
        Observe("x\n");
        _log.Flush();
        Assert.Equal(["x"], _logged);
    }

    [Fact]
    public void LongLine_IsCutWithOmittedCount()
    {
        byte[] line = Encoding.ASCII.GetBytes(new string('a', 1000) + "\n");
        foreach (var chunk in line.Chunk(7))
            Observe(chunk);
        Assert.Equal([new string('a', PeerText.DefaultMaxBytes) + "... (+744 bytes)"], _logged);
    }

    [Fact]
    public void LongLine_ThenNormalLine()
    {
        Observe(new string('b', 300) + "\nshort\n");
        Assert.Equal([new string('b', 256) + "... (+44 bytes)", "short"], _logged);
    }

    [Fact]
    public void LongLine_FlushedWithoutNewline_ShowsOmittedCount()
    {
        Observe(new string('c', 256 + 10));
        _log.Flush();
        Assert.Equal([new string('c', 256) + "... (+10 bytes)"], _logged);
    }

    [Fact]
    public void LineOfExactlyMaxBytes_IsNotCut()
    {
        Observe(new string('d', PeerText.DefaultMaxBytes) + "\n");
        Assert.Equal([new string('d', PeerText.DefaultMaxBytes)], _logged);
    }

    [Fact]
    public void LineOfExactlyMaxBytes_WithCrLf_IsNotCut()
    {
        // The '\r' of the terminator is not part of the line, as for shorter lines.
        Observe(new string('e', PeerText.DefaultMaxBytes) + "\r\n");
        Assert.Equal([new string('e', PeerText.DefaultMaxBytes)], _logged);
    }

    [Fact]
    public void LongLine_WithCrLf_CountsOnlyContentAsOmitted()
    {
        Observe(new string('f', 1000) + "\r\n");
        Assert.Equal([new string('f', PeerText.DefaultMaxBytes) + "... (+744 bytes)"], _logged);
    }

    [Fact]
    public void EndlessLine_UsesBoundedMemory()
    {
        byte[] chunk = new byte[4096];
        Array.Fill(chunk, (byte)'z');
        var sequence = new ReadOnlySequence<byte>(chunk);
        _log.Observe(sequence); // warm up

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 256; i++) // 1 MiB more without a newline
            _log.Observe(sequence);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 16 * 1024, $"observing 1 MiB of one line allocated {allocated} bytes");
        Assert.Empty(_logged);

        Observe("\n");
        string line = Assert.Single(_logged);
        Assert.Equal(new string('z', 256) + $"... (+{257 * 4096 - 256} bytes)", line);
    }
}
