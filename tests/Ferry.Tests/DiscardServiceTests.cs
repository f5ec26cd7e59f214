using System.Text;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Services;

namespace Ferry.Tests;

public sealed class DiscardServiceTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ConsumesEverything_WritesNothing_CountsBytesIn()
    {
        using var connection = new InMemoryConnection();
        var run = connection.Run(new DiscardService());

        var data = new byte[300_000];
        new Random(5).NextBytes(data);
        foreach (var chunk in Sequences.RandomChunks(data, new Random(6), 10_000))
            await connection.ClientWriter.WriteAsync(chunk, Token);
        await connection.ClientWriter.CompleteAsync();

        Assert.Equal(CloseReason.PeerClosed, await run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.Equal(data.Length, connection.Stats.BytesIn);
        Assert.Equal(0, connection.Stats.BytesOut);
        Assert.False(connection.ClientReader.TryRead(out _), "discard must not answer");
    }

    [Fact]
    public async Task KeepsReadingWithoutAnyoneReadingOutput()
    {
        // Far more than any input buffer limit: only completes if discard keeps consuming.
        using var connection = new InMemoryConnection();
        var run = connection.Run(new DiscardService());
        var chunk = new byte[64 * 1024];
        for (int i = 0; i < 32; i++)
            await connection.ClientWriter.WriteAsync(chunk, Token).AsTask().WaitAsync(InMemoryConnection.Timeout, Token);
        await connection.ClientWriter.CompleteAsync();
        Assert.Equal(CloseReason.PeerClosed, await run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.Equal(32L * 64 * 1024, connection.Stats.BytesIn);
    }

    [Fact]
    public async Task LogsReceivedLines()
    {
        var logged = new List<string>();
        using var connection = new InMemoryConnection(receivedLines: new ReceivedLineLog(logged.Add));
        var run = connection.Run(new DiscardService());

        await connection.ClientWriter.WriteAsync(Encoding.ASCII.GetBytes("hello\r\nwor"), Token);
        await connection.ClientWriter.WriteAsync(Encoding.ASCII.GetBytes("ld\n\u001b]0;x\u0007\ntail"), Token);
        await connection.ClientWriter.CompleteAsync();

        Assert.Equal(CloseReason.PeerClosed, await run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.Equal(["hello", "world", "\\x1b]0;x\\x07", "tail"], logged);
    }

    [Fact]
    public async Task Stopping_ThrowsOperationCanceled_AndFlushesPartialLine()
    {
        var logged = new List<string>();
        using var connection = new InMemoryConnection(receivedLines: new ReceivedLineLog(logged.Add));
        var run = connection.Run(new DiscardService());
        await connection.ClientWriter.WriteAsync("unfinished"u8.ToArray(), Token);
        await InMemoryConnection.WaitUntilAsync(() => connection.Stats.BytesIn == 10, "discard read the bytes", Token);
        Assert.Empty(logged);

        connection.Stop();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.Equal(["unfinished"], logged);
    }
}
