using Ferry.Daemon.Listeners;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Ferry.Tests;

/// <summary>
/// The socket transport's block pool: blocks come back and are handed out again (so echo
/// allocates nothing per message), the free list is bounded, and the transport still has the
/// hook the pool is installed through (a Kestrel update that removes it fails here, not
/// silently in production as an allocation regression).
/// </summary>
public sealed class TransportBlockPoolTests
{
    [Fact]
    public void TheTransportStillTakesAPool()
    {
        var options = new SocketConnectionFactoryOptions();

        Assert.True(TransportBlockPool.TryApply(options));
    }

    [Fact]
    public void AReturnedBlockIsTheNextOneRented()
    {
        using var pool = new TransportBlockPool();
        var first = pool.Rent();
        Memory<byte> memory = first.Memory;
        first.Dispose();

        using var second = pool.Rent(100);

        Assert.Equal(TransportBlockPool.BlockSize, second.Memory.Length);
        Assert.True(second.Memory.Span == memory.Span, "the block was not reused");
    }

    [Fact]
    public void NoBlockIsBiggerThanTheBlockSize()
    {
        using var pool = new TransportBlockPool();

        Assert.Equal(TransportBlockPool.BlockSize, pool.MaxBufferSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(TransportBlockPool.BlockSize + 1));
    }

    [Fact]
    public void TheFreeListKeepsNoMoreThanItsBound()
    {
        using var pool = new TransportBlockPool();
        int cap = TransportBlockPool.MaxRetainedBytes / TransportBlockPool.BlockSize;
        var rented = Enumerable.Range(0, cap + 10).Select(_ => pool.Rent()).ToList();
        foreach (var block in rented)
            block.Dispose();

        // The first `cap` rents come from the free list, then fresh blocks: the 10 extra were dropped.
        var again = Enumerable.Range(0, cap + 10).Select(_ => pool.Rent()).ToList();
        var reused = again.Count(block => rented.Any(old => old.Memory.Span == block.Memory.Span));

        Assert.Equal(cap, reused);
    }
}
