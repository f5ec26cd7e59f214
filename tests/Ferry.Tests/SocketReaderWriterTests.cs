using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Ferry.Daemon.Transport;
using Microsoft.AspNetCore.Connections;

using static Ferry.Tests.TransportTestKit;

namespace Ferry.Tests;

/// <summary>
/// The <see cref="PipeReader"/> and <see cref="PipeWriter"/> contract of <see cref="SocketReader"/>
/// and <see cref="SocketWriter"/>, over real loopback sockets: what the services got for free from
/// a <see cref="Pipe"/> filled by a receive loop and drained by a send loop, and must still get now
/// that the reader calls <c>recv</c> and the writer calls <c>send</c> themselves. Examined versus
/// consumed, cancellation, TryRead, output backpressure, writes bigger than a block, abort, reset,
/// and no block held once a message is sent.
/// </summary>
public sealed class SocketReaderWriterTests
{
    private static readonly TimeSpan Timeout = TransportTestKit.Timeout;

    /// <summary>How long a read that must not complete is given to complete wrongly.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task AReadAfterExaminingEverythingWaitsForNewBytesThenReturnsOldAndNewTogether()
    {
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());
        await pair.Client.SendAsync("abc"u8.ToArray(), SocketFlags.None, Token);

        ReadResult first = await ReadAtLeastAsync(pair.Input, 3);
        Assert.Equal("abc"u8.ToArray(), first.Buffer.ToArray());
        // A line framer that found no newline: keep it all, but do not come back until there is more.
        pair.Input.AdvanceTo(first.Buffer.Start, first.Buffer.End);

        Task<ReadResult> next = pair.Input.ReadAsync(Token).AsTask();
        await Task.Delay(Quiet, Token);
        Assert.False(next.IsCompleted, "a read completed with nothing new after everything was examined");

        await pair.Client.SendAsync("def"u8.ToArray(), SocketFlags.None, Token);
        ReadResult second = await next.WaitAsync(Timeout, Token);
        byte[] secondBytes = second.Buffer.ToArray();
        Assert.True(secondBytes.Length > 3, $"the read woken by new bytes returned {secondBytes.Length} bytes, not the old and the new");
        Assert.Equal("abc"u8.ToArray(), secondBytes[..3]);
        ReadResult all = second;
        if (second.Buffer.Length < 6)
        {
            // "def" came in two pieces: the rest joins the same buffer.
            pair.Input.AdvanceTo(second.Buffer.Start, second.Buffer.End);
            all = await ReadAtLeastAsync(pair.Input, 6);
        }
        Assert.Equal("abcdef"u8.ToArray(), all.Buffer.ToArray());
        pair.Input.AdvanceTo(all.Buffer.End);
    }

    [Fact]
    public async Task AReadAfterConsumingAndExaminingPartReturnsTheRestAtOnce()
    {
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());
        await pair.Client.SendAsync("abcdef"u8.ToArray(), SocketFlags.None, Token);
        ReadResult read = await ReadAtLeastAsync(pair.Input, 6);

        // Consumed "ab", examined "abcd": "ef" is unexamined, so there is something to return now.
        pair.Input.AdvanceTo(read.Buffer.GetPosition(2), read.Buffer.GetPosition(4));
        ValueTask<ReadResult> rest = pair.Input.ReadAsync(Token);
        Assert.True(rest.IsCompleted, "with unexamined bytes buffered, the read waited for the socket");
        ReadResult restResult = await rest;
        Assert.Equal("cdef"u8.ToArray(), restResult.Buffer.ToArray());

        // AdvanceTo(consumed) alone examines only up to consumed: "def" is returned at once too.
        pair.Input.AdvanceTo(restResult.Buffer.GetPosition(1));
        ValueTask<ReadResult> again = pair.Input.ReadAsync(Token);
        Assert.True(again.IsCompleted, "after AdvanceTo(consumed) short of the end, the read waited for the socket");
        ReadResult againResult = await again;
        Assert.Equal("def"u8.ToArray(), againResult.Buffer.ToArray());
        pair.Input.AdvanceTo(againResult.Buffer.End);
    }

    [Fact]
    public async Task CancelPendingReadWakesAPendingReadAndLaterReadsStillGetData()
    {
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());
        Task<ReadResult> pending = pair.Input.ReadAsync(Token).AsTask();
        await Task.Delay(Quiet, Token);
        Assert.False(pending.IsCompleted, "a read completed with nothing sent");

        pair.Input.CancelPendingRead();

        ReadResult canceled = await pending.WaitAsync(Timeout, Token);
        Assert.True(canceled.IsCanceled, "CancelPendingRead woke the read without IsCanceled");
        Assert.False(canceled.IsCompleted);
        Assert.True(canceled.Buffer.IsEmpty);
        pair.Input.AdvanceTo(canceled.Buffer.Start);

        await pair.Client.SendAsync("after"u8.ToArray(), SocketFlags.None, Token);
        ReadResult after = await ReadAtLeastAsync(pair.Input, 5);
        Assert.False(after.IsCanceled, "the cancellation was reported twice");
        Assert.Equal("after"u8.ToArray(), after.Buffer.ToArray());
        pair.Input.AdvanceTo(after.Buffer.End);
    }

    [Fact]
    public async Task CancelPendingReadWithNoReadPendingCancelsTheNextReadAtOnce()
    {
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());

        pair.Input.CancelPendingRead();

        ValueTask<ReadResult> next = pair.Input.ReadAsync(Token);
        Assert.True(next.IsCompleted, "the read after CancelPendingRead waited for the socket");
        ReadResult canceled = await next;
        Assert.True(canceled.IsCanceled, "the read after CancelPendingRead was not canceled");
        pair.Input.AdvanceTo(canceled.Buffer.Start);

        // Canceled once, not for ever: the read after it waits for data and gets it.
        Task<ReadResult> waiting = pair.Input.ReadAsync(Token).AsTask();
        await Task.Delay(Quiet, Token);
        Assert.False(waiting.IsCompleted, "a second read completed with nothing sent: the cancellation stuck");
        await pair.Client.SendAsync("data"u8.ToArray(), SocketFlags.None, Token);
        ReadResult data = await waiting.WaitAsync(Timeout, Token);
        Assert.False(data.IsCanceled);
        Assert.Equal("data"u8.ToArray(), data.Buffer.ToArray());
        pair.Input.AdvanceTo(data.Buffer.End);
    }

    [Fact]
    public async Task ACancelledTokenEndsAPendingReadAndTheReaderStillWorks()
    {
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Token);
        Task<ReadResult> pending = pair.Input.ReadAsync(cancellation.Token).AsTask();
        await Task.Delay(Quiet, Token);
        Assert.False(pending.IsCompleted, "a read completed with nothing sent");

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Timeout, Token));

        await pair.Client.SendAsync("still here"u8.ToArray(), SocketFlags.None, Token);
        ReadResult read = await ReadAtLeastAsync(pair.Input, 10);
        Assert.Equal("still here"u8.ToArray(), read.Buffer.ToArray());
        pair.Input.AdvanceTo(read.Buffer.End);
    }

    /// <summary>
    /// A pipe filled by a receive loop has the data for TryRead as soon as it arrived. The
    /// reader has no loop: what the kernel holds must count as buffered, even after an earlier
    /// TryRead found the socket empty.
    /// </summary>
    [Fact]
    public async Task TryReadReturnsFalseUntilBytesArriveThenReturnsThem()
    {
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());
        Assert.False(pair.Input.TryRead(out _), "TryRead returned something with nothing sent");

        await pair.Client.SendAsync("hi"u8.ToArray(), SocketFlags.None, Token);

        ReadResult read = default;
        bool got = await EventuallyAsync(() => pair.Input.TryRead(out read));
        Assert.True(got, "TryRead never returned the bytes the client sent");
        Assert.Equal("hi"u8.ToArray(), read.Buffer.ToArray());
        pair.Input.AdvanceTo(read.Buffer.End);
    }

    /// <summary>
    /// A client that does not read must stop the service's flushes, not make ferryd buffer
    /// without end; when it reads again the waiting flush resumes, and nothing written in
    /// between is lost, doubled or reordered.
    /// </summary>
    [Fact]
    public async Task AFlushWaitsWhileTheClientDoesNotReadAndResumesWithNothingLostWhenItDoes()
    {
        const long Cap = 64L * 1024 * 1024;
        const int Chunk = 64 * 1024;
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());

        long written = 0;
        Task<FlushResult>? stalled = null;
        while (stalled is null)
        {
            Assert.True(written < Cap, $"the service flushed {Cap} bytes to a client that reads nothing: output is unbounded");
            WritePattern(pair.Output, written, Chunk);
            written += Chunk;
            ValueTask<FlushResult> flush = pair.Output.FlushAsync(Token);
            if (flush.IsCompleted)
            {
                Assert.False((await flush).IsCompleted, "the output ended while the client was connected");
                continue;
            }
            // A flush also steps off the thread after a fair share of bytes, and completes on its
            // own: only one that stays waiting while the client reads nothing is backpressure.
            Task<FlushResult> waiting = flush.AsTask();
            if (await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromMilliseconds(500), Token)) == waiting)
            {
                Assert.False((await waiting).IsCompleted, "the output ended while the client was connected");
                continue;
            }
            stalled = waiting;
        }

        await Task.Delay(Quiet, Token);
        Assert.False(stalled.IsCompleted, "the flush stopped waiting though the client still reads nothing");

        Task receiving = ReceivePatternAsync(pair.Client, 0, written);
        FlushResult resumed = await stalled.WaitAsync(Timeout, Token);
        Assert.False(resumed.IsCanceled);
        Assert.False(resumed.IsCompleted, "the resumed flush says the output ended");
        await receiving.WaitAsync(Timeout, Token);

        // And the output goes on after the pause.
        WritePattern(pair.Output, written, Chunk);
        await pair.Output.FlushAsync(Token).AsTask().WaitAsync(Timeout, Token);
        await ReceivePatternAsync(pair.Client, written, Chunk).WaitAsync(Timeout, Token);
    }

    [Fact]
    public async Task OneMemoryLargerThanAPoolBlockArrivesWhole()
    {
        const int Size = 200_000;
        using var pool = new BlockPool();
        Assert.True(Size > pool.MaxBufferSize, "the test needs a size bigger than a block");
        await using var pair = await LoopbackPair.OpenAsync(pool);

        Memory<byte> memory = pair.Output.GetMemory(Size);
        Assert.True(memory.Length >= Size, $"GetMemory({Size}) gave {memory.Length} bytes");
        FillPattern(memory.Span[..Size], 0);
        pair.Output.Advance(Size);

        // More than the pause threshold may stay unsent: the flush may wait for the client to read.
        Task receiving = ReceivePatternAsync(pair.Client, 0, Size);
        FlushResult flushed = await pair.Output.FlushAsync(Token).AsTask().WaitAsync(Timeout, Token);
        Assert.False(flushed.IsCompleted);
        await receiving.WaitAsync(Timeout, Token);

        // Exactly those bytes: after a graceful end, the client finds nothing more.
        await pair.Connection.DisposeAsync().AsTask().WaitAsync(Timeout, Token);
        int more = await pair.Client.ReceiveAsync(new byte[1024], SocketFlags.None, Token).AsTask().WaitAsync(Timeout, Token);
        Assert.Equal(0, more);
    }

    [Fact]
    public async Task AbortFailsAPendingReadAndLaterFlushesSayTheOutputIsComplete()
    {
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());
        Task<ReadResult> pending = pair.Input.ReadAsync(Token).AsTask();
        await Task.Delay(Quiet, Token);
        Assert.False(pending.IsCompleted, "a read completed with nothing sent");

        pair.Connection.Abort(new ConnectionAbortedException("aborted by the test"));

        var thrown = await Assert.ThrowsAsync<ConnectionAbortedException>(() => pending.WaitAsync(Timeout, Token));
        Assert.Equal("aborted by the test", thrown.Message);

        // A service that goes on writing learns the output is over, and does not wait.
        pair.Output.Write("too late\n"u8);
        ValueTask<FlushResult> flush = pair.Output.FlushAsync(Token);
        Assert.True(flush.IsCompleted, "a flush after abort waited");
        Assert.True((await flush).IsCompleted, "a flush after abort did not say the output is complete");

        // And reading again fails the same way instead of waiting.
        await Assert.ThrowsAsync<ConnectionAbortedException>(() => pair.Input.ReadAsync(Token).AsTask().WaitAsync(Timeout, Token));
    }

    [Fact]
    public async Task APeerResetWhileIdleEndsTheNextReadInsteadOfHangingIt()
    {
        await using var pair = await LoopbackPair.OpenAsync(new BlockPool());

        // Linger on with a zero timeout: close sends RST instead of FIN.
        pair.Client.LingerState = new LingerOption(true, 0);
        pair.Client.Close();
        // Idle: the reset has arrived, and epoll reported it, before the service reads.
        await Task.Delay(Quiet, Token);

        ReadResult? result = null;
        Exception? failure = null;
        try
        {
            result = await pair.Input.ReadAsync(Token).AsTask().WaitAsync(Timeout, Token);
        }
        catch (TimeoutException)
        {
            Assert.Fail("the read after the peer's reset hung");
        }
        catch (Exception ex) when (ex is IOException)
        {
            failure = ex; // ConnectionResetException is an IOException
        }

        Assert.True(failure is not null || result!.Value.IsCompleted,
            "the read after the peer's reset neither failed nor said the input is complete");
    }

    [Fact]
    public async Task ASmallMessageSentAtOnceLeavesNoBlockWithTheConnection()
    {
        using var pool = new CountingPool(new BlockPool());
        await using var pair = await LoopbackPair.OpenAsync(pool);
        byte[] message = "pong\n"u8.ToArray();

        message.CopyTo(pair.Output.GetSpan(message.Length));
        pair.Output.Advance(message.Length);
        Assert.True(pool.Outstanding > 0, "writing took no block from the pool: the test counts nothing");

        ValueTask<FlushResult> flush = pair.Output.FlushAsync(Token);
        Assert.True(flush.IsCompleted, "a five-byte flush to an idle socket was not sent at once");
        Assert.False((await flush).IsCompleted);

        Assert.Equal(message, await ReceiveExactlyAsync(pair.Client, message.Length));
        Assert.True(await EventuallyAsync(() => pool.Outstanding == 0),
            $"after a small message was sent, the connection still holds {pool.Outstanding} block(s)");
    }

    /// <summary>The byte that belongs at a stream position: loss, duplication and reordering all show.</summary>
    private static void WritePattern(PipeWriter output, long position, int count)
    {
        Span<byte> span = output.GetSpan(count);
        FillPattern(span[..count], position);
        output.Advance(count);
    }

    /// <summary>
    /// Reads until at least <paramref name="count"/> bytes are buffered, examining without
    /// consuming; returns that read, not yet advanced.
    /// </summary>
    private static async Task<ReadResult> ReadAtLeastAsync(PipeReader input, int count)
    {
        while (true)
        {
            ReadResult read = await input.ReadAsync(Token).AsTask().WaitAsync(Timeout, Token);
            if (read.Buffer.Length >= count)
                return read;
            if (read.IsCompleted)
                throw new EndOfStreamException($"input ended after {read.Buffer.Length} of {count} bytes");
            input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }
}
