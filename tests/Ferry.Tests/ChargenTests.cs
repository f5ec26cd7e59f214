using System.IO.Pipelines;
using System.Text;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Services;

namespace Ferry.Tests;

public sealed class ChargenPatternTests
{
    [Fact]
    public void FirstLines()
    {
        Assert.Equal((byte)' ', ChargenPattern.Line(0)[0]);
        Assert.Equal((byte)'!', ChargenPattern.Line(1)[0]);
        Assert.Equal(
            " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n",
            Encoding.ASCII.GetString(ChargenPattern.Line(0)));
        Assert.Equal(
            "~ !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdef\r\n",
            Encoding.ASCII.GetString(ChargenPattern.Line(94)));
    }

    [Fact]
    public void EveryLineIs72PrintableCharsPlusCrLf_AndRotatesByOne()
    {
        Assert.Equal(72, ChargenPattern.LineLength);
        Assert.Equal(74, ChargenPattern.LineBytes);
        for (int i = 0; i < 200; i++)
        {
            byte[] line = ChargenPattern.Line(i);
            Assert.Equal(74, line.Length);
            Assert.Equal((byte)'\r', line[72]);
            Assert.Equal((byte)'\n', line[73]);
            Assert.All(line[..72], b => Assert.InRange(b, (byte)' ', (byte)'~'));
            Assert.Equal((byte)(' ' + i % 95), line[0]);
            if (i > 0)
                Assert.Equal(ChargenPattern.Line(i - 1)[1..72], line[..71]);
        }
    }

    [Fact]
    public void CycleIs95Lines_7030Bytes_AndRepeats()
    {
        Assert.Equal(7030, ChargenPattern.Cycle.Length);
        Assert.Equal(ChargenPattern.Line(0), ChargenPattern.Line(95));
        Assert.Equal(ChargenPattern.Line(3), ChargenPattern.Line(98));
        Assert.NotEqual(ChargenPattern.Line(0), ChargenPattern.Line(94));
        byte[] expected = [.. Enumerable.Range(0, 95).SelectMany(ChargenPattern.Line)];
        Assert.Equal(expected, ChargenPattern.Cycle.ToArray());
    }
}

public sealed class ChargenServiceTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static void AssertPattern(byte[] received, long offset)
    {
        var cycle = ChargenPattern.Cycle.Span;
        for (int i = 0; i < received.Length; i++)
        {
            if (received[i] != cycle[(int)((offset + i) % cycle.Length)])
                Assert.Fail($"byte {offset + i} is {received[i]}, expected {cycle[(int)((offset + i) % cycle.Length)]}");
        }
    }

    [Fact]
    public async Task StreamsThePattern_UntilTheClientStopsReading_ThenPeerReset()
    {
        using var connection = new InMemoryConnection();
        var run = connection.Run(new ChargenService());

        byte[] received = await connection.ReadExactlyAsync(100_000, Token);
        AssertPattern(received, 0);
        Assert.False(run.IsCompleted);

        await connection.ClientReader.CompleteAsync();
        Assert.Equal(CloseReason.PeerReset, await run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.True(connection.Stats.BytesOut >= 100_000 - ChargenPattern.Cycle.Length);
        Assert.Equal(0, connection.Stats.BytesOut % ChargenPattern.Cycle.Length);
    }

    [Fact]
    public async Task SlowReader_OutputStaysBounded_ThenReadingResumesFlow()
    {
        const int pause = 16 * 1024;
        using var connection = new InMemoryConnection(toClient: new PipeOptions(pauseWriterThreshold: pause, resumeWriterThreshold: pause / 2));
        var run = connection.Run(new ChargenService());

        var settled = await InMemoryConnection.WaitUntilStableAsync(() => [connection.Stats.BytesOut], Token);
        Assert.False(run.IsCompleted);
        Assert.True(settled[0] < 64 * 1024, $"chargen sent {settled[0]} bytes nobody read");
        long unread = await connection.PeekUnreadAsync(Token);
        Assert.InRange(unread, pause, 64 * 1024);

        // Reading resumes the flow; the pattern continues without a gap or repeat.
        const int total = 1024 * 1024;
        AssertPattern(await connection.ReadExactlyAsync(total, Token), 0);
        Assert.True(connection.Stats.BytesOut >= total - 64 * 1024);
        Assert.False(run.IsCompleted);

        await connection.ClientReader.CompleteAsync();
        Assert.Equal(CloseReason.PeerReset, await run.WaitAsync(InMemoryConnection.Timeout, Token));
    }

    [Fact]
    public async Task DiscardsAndCountsInput_AndKeepsSendingAfterClientEof()
    {
        using var connection = new InMemoryConnection();
        var run = connection.Run(new ChargenService());

        await connection.ClientWriter.WriteAsync(new byte[1000], Token);
        await connection.ClientWriter.WriteAsync(new byte[234], Token);
        await connection.ClientWriter.CompleteAsync();
        await InMemoryConnection.WaitUntilAsync(() => connection.Stats.BytesIn == 1234, "chargen counted the input", Token);

        // Input EOF does not end chargen: only the reader going away does.
        AssertPattern(await connection.ReadExactlyAsync(20_000, Token), 0);
        Assert.False(run.IsCompleted);

        await connection.ClientReader.CompleteAsync();
        Assert.Equal(CloseReason.PeerReset, await run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.Equal(1234, connection.Stats.BytesIn);
    }

    [Fact]
    public async Task Stopping_ThrowsOperationCanceled()
    {
        using var connection = new InMemoryConnection();
        var run = connection.Run(new ChargenService());
        await connection.ReadExactlyAsync(10_000, Token);
        Assert.False(run.IsCompleted);

        connection.Stop();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(InMemoryConnection.Timeout, Token));
    }
}
