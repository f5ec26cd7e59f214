using System.IO.Pipelines;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Transport;

namespace Ferry.Tests;

/// <summary>
/// The pool behind every connection's pipes: blocks are reused, bounded, and given back by a
/// pipe once its reader has consumed them (that is what keeps an idle connection free of buffers).
/// </summary>
public sealed class BlockPoolTests
{
    [Fact]
    public void AReturnedBlockIsTheNextOneRented()
    {
        using var pool = new BlockPool();
        var first = pool.Rent();
        Memory<byte> memory = first.Memory;
        first.Dispose();

        using var second = pool.Rent(100);

        Assert.Equal(BlockPool.DefaultBlockSize, second.Memory.Length);
        Assert.True(second.Memory.Span == memory.Span, "the block was not reused");
    }

    [Fact]
    public void TheBlockAThreadReturnedLastIsItsNextAndOtherThreadsStillReuseTheRest()
    {
        using var pool = new BlockPool(4096);
        var first = pool.Rent();
        var second = pool.Rent();
        Memory<byte> kept = first.Memory, shared = second.Memory;
        first.Dispose(); // stays with this thread
        second.Dispose(); // to the shared list

        // Synchronous on purpose: an await could resume this test on another thread.
        Memory<byte> onAnotherThread = default;
        var other = new Thread(() => onAnotherThread = pool.Rent().Memory);
        other.Start();
        other.Join();
        Assert.True(onAnotherThread.Span == shared.Span, "another thread did not get the block from the shared list");
        Assert.True(pool.Rent().Memory.Span == kept.Span, "this thread did not get back the block it returned last");
    }

    [Fact]
    public void NoBlockIsBiggerThanTheBlockSize()
    {
        using var pool = new BlockPool(4096);

        Assert.Equal(4096, pool.MaxBufferSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(4097));
    }

    [Fact]
    public void TheFreeListKeepsNoMoreThanItsBound()
    {
        using var pool = new BlockPool();
        int cap = BlockPool.MaxRetainedBytes / pool.BlockSize;
        var rented = Enumerable.Range(0, cap + 10).Select(_ => pool.Rent()).ToList();
        foreach (var block in rented)
            block.Dispose();

        // The first rent gets the block this thread kept, the next `cap` come from the free list,
        // then fresh blocks: the other 9 were dropped.
        var again = Enumerable.Range(0, cap + 10).Select(_ => pool.Rent()).ToList();
        var reused = again.Count(block => rented.Any(old => old.Memory.Span == block.Memory.Span));

        Assert.Equal(cap + 1, reused);
    }

    [Fact]
    public async Task APipeGivesItsBlockBackOnceEverythingIsConsumed()
    {
        using var pool = new BlockPool();
        var pipe = new Pipe(new PipeOptions(pool, useSynchronizationContext: false));

        Memory<byte> written = pipe.Writer.GetMemory(BlockPool.DefaultBlockSize);
        "ping\n"u8.CopyTo(written.Span);
        pipe.Writer.Advance(5);
        await pipe.Writer.FlushAsync(TestContext.Current.CancellationToken);
        var read = await pipe.Reader.ReadAsync(TestContext.Current.CancellationToken);
        pipe.Reader.AdvanceTo(read.Buffer.End);

        // Nothing unread and nobody writing: the block is back in the pool, not held by the pipe.
        using var next = pool.Rent();
        Assert.True(next.Memory.Span == written.Span, "the pipe kept its block after everything was read");
    }
}
