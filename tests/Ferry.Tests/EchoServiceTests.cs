using System.IO.Pipelines;
using System.Text;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Services;

namespace Ferry.Tests;

public sealed class EchoServiceTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EchoesBytesIdentically_AndEndsWithPeerClosed()
    {
        using var connection = new InMemoryConnection();
        var run = connection.Run(new EchoService());

        var data = new byte[200_000];
        new Random(1).NextBytes(data);
        var reading = connection.ReadExactlyAsync(data.Length, Token);

        var random = new Random(2);
        foreach (var chunk in Sequences.RandomChunks(data, random, 5000))
        {
            var flush = await connection.ClientWriter.WriteAsync(chunk, Token);
            Assert.False(flush.IsCompleted);
        }
        Assert.Equal(data, await reading);
        Assert.False(run.IsCompleted);

        await connection.ClientWriter.CompleteAsync();
        Assert.Equal(CloseReason.PeerClosed, await run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.Equal(data.Length, connection.Stats.BytesIn);
        Assert.Equal(data.Length, connection.Stats.BytesOut);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(4000)]
    [InlineData(10_000)]
    [InlineData(65_536)]
    public async Task StatsCountEveryEchoedByte_OneWrite(int size)
    {
        // One client write larger than a pipe segment (4 KiB) reaches the service as a
        // multi-segment buffer; BytesOut must still count every byte sent back.
        using var connection = new InMemoryConnection();
        var run = connection.Run(new EchoService());
        var data = new byte[size];
        new Random(size).NextBytes(data);

        await connection.ClientWriter.WriteAsync(data, Token);
        Assert.Equal(data, await connection.ReadExactlyAsync(size, Token));
        await connection.ClientWriter.CompleteAsync();

        Assert.Equal(CloseReason.PeerClosed, await run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.Equal(size, connection.Stats.BytesIn);
        Assert.Equal(size, connection.Stats.BytesOut);
    }

    [Fact]
    public async Task ImmediateEof_EndsWithPeerClosed_AndNothingCounted()
    {
        using var connection = new InMemoryConnection();
        await connection.ClientWriter.CompleteAsync();
        Assert.Equal(CloseReason.PeerClosed, await connection.Run(new EchoService()).WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.Equal(0, connection.Stats.BytesIn);
        Assert.Equal(0, connection.Stats.BytesOut);
        Assert.False(connection.ClientReader.TryRead(out _));
    }

    [Fact]
    public async Task LogsReceivedLines_AndFlushesPartialLineAtEnd()
    {
        var logged = new List<string>();
        using var connection = new InMemoryConnection(receivedLines: new ReceivedLineLog(logged.Add));
        var run = connection.Run(new EchoService());

        byte[] sent = Encoding.ASCII.GetBytes("hello\r\nwor" + "ld\npartial");
        await connection.ClientWriter.WriteAsync(sent.AsMemory(0, 10), Token);
        await connection.ClientWriter.WriteAsync(sent.AsMemory(10), Token);
        await connection.ClientWriter.CompleteAsync();

        Assert.Equal(CloseReason.PeerClosed, await run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.Equal(sent, await connection.ReadExactlyAsync(sent.Length, Token));
        Assert.Equal(["hello", "world", "partial"], logged);
    }

    [Fact]
    public async Task ClientStopsReading_ServiceStopsReadingInput()
    {
        const int outputPause = 4096, inputPause = 8192, total = 256 * 1024;
        using var connection = new InMemoryConnection(
            toServer: new PipeOptions(pauseWriterThreshold: inputPause, resumeWriterThreshold: inputPause / 2),
            toClient: new PipeOptions(pauseWriterThreshold: outputPause, resumeWriterThreshold: outputPause / 2));
        var run = connection.Run(new EchoService());

        var data = new byte[total];
        new Random(3).NextBytes(data);
        long handedToPipe = 0;
        var writerBlocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writing = Task.Run(async () =>
        {
            foreach (var chunk in data.Chunk(1024))
            {
                Interlocked.Add(ref handedToPipe, chunk.Length);
                var write = connection.ClientWriter.WriteAsync(chunk, Token);
                if (!write.IsCompleted)
                    writerBlocked.TrySetResult(); // the client->server pipe is full: backpressure
                await write;
            }
            await connection.ClientWriter.CompleteAsync();
        }, Token);

        // The client reads nothing: the flow stalls (first the client's writes block, a fact
        // rather than a guess from timing, then the counters stop moving)...
        await writerBlocked.Task.WaitAsync(InMemoryConnection.Timeout, Token);
        // On a starved machine the writer may still be catching up after a resume: wait for the
        // client->server pipe to be full again rather than trusting a quiet moment.
        var full = DateTime.UtcNow + InMemoryConnection.Timeout;
        while (Interlocked.Read(ref handedToPipe) - connection.Stats.BytesIn < inputPause && DateTime.UtcNow < full)
            await Task.Delay(20, Token);
        // A starved writer thread can look "stable" while it is between a resume and its next
        // write: look again until the pipe is full (or the timeout), then judge that snapshot.
        long[] settled;
        do
        {
            settled = await InMemoryConnection.WaitUntilStableAsync(
                () => [Interlocked.Read(ref handedToPipe), connection.Stats.BytesIn, connection.Stats.BytesOut], Token);
        }
        while (settled[0] - settled[1] < inputPause && DateTime.UtcNow < full);
        long handedBefore = settled[0];
        long consumedBefore = settled[1];

        // ...with bounded amounts: the service stopped consuming input, so the client cannot write more.
        Assert.False(writing.IsCompleted);
        Assert.True(consumedBefore <= 32 * 1024, $"service consumed {consumedBefore} bytes without being read");
        Assert.True(handedBefore - consumedBefore >= inputPause, $"bytes should stay unconsumed in the client->server pipe (handed {handedBefore}, consumed {consumedBefore}, echoed {settled[2]})");
        Assert.True(handedBefore <= 64 * 1024, $"client could write {handedBefore} bytes with nobody reading");
        long unreadOutput = await connection.PeekUnreadAsync(Token);
        Assert.InRange(unreadOutput, outputPause, 32 * 1024);

        // Reading resumes the flow and everything comes back intact.
        Assert.Equal(data, await connection.ReadExactlyAsync(total, Token));
        await writing.WaitAsync(InMemoryConnection.Timeout, Token);
        Assert.Equal(CloseReason.PeerClosed, await run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.Equal(total, connection.Stats.BytesIn);
    }

    [Fact]
    public async Task StoppingWhileWaitingForInput_ThrowsOperationCanceled()
    {
        using var connection = new InMemoryConnection();
        var run = connection.Run(new EchoService());
        await connection.ClientWriter.WriteAsync("hi"u8.ToArray(), Token);
        Assert.Equal("hi"u8.ToArray(), await connection.ReadExactlyAsync(2, Token));
        Assert.False(run.IsCompleted);

        connection.Stop();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(InMemoryConnection.Timeout, Token));
    }

    [Fact]
    public async Task StoppingWhileBlockedOnBackpressure_StillDeliversTheEchoThenThrowsOperationCanceled()
    {
        using var connection = new InMemoryConnection(toClient: new PipeOptions(pauseWriterThreshold: 1024, resumeWriterThreshold: 512));
        var run = connection.Run(new EchoService());
        await connection.ClientWriter.WriteAsync(new byte[4096], Token);
        await InMemoryConnection.WaitUntilAsync(() => connection.Stats.BytesIn == 4096, "the service read the input", Token);
        // Its flush is now waiting for a reader that never comes.
        Assert.False(run.IsCompleted);
        Assert.Equal(0, connection.Stats.BytesOut);

        // Asked to stop, it still delivers what it was sent (ferryd's shutdown deadline bounds the wait)...
        connection.Stop();
        await Task.Delay(200, Token);
        Assert.False(run.IsCompleted, "the echo was given up although the client may still read it");
        Assert.Equal(new byte[4096], await connection.ReadExactlyAsync(4096, Token));
        // ...and then ends as stopped.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(InMemoryConnection.Timeout, Token));
    }

    [Fact]
    public async Task ClientReaderGone_EndsWithPeerReset()
    {
        using var connection = new InMemoryConnection();
        var run = connection.Run(new EchoService());
        await connection.ClientReader.CompleteAsync();
        await connection.ClientWriter.WriteAsync("x"u8.ToArray(), Token);

        Assert.Equal(CloseReason.PeerReset, await run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.Equal(1, connection.Stats.BytesIn);
        Assert.Equal(0, connection.Stats.BytesOut);
    }
}
