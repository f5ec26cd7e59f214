using System.Buffers;
using System.Collections.Concurrent;

namespace Ferry.Daemon.Transport;

/// <summary>
/// The buffers of the connections' readers and writers: fixed-size blocks, pinned, reused.
/// </summary>
/// <remarks>
/// One size for every rent: a writer packs small writes into the block it already has and
/// takes a new one only when that is full, so 64-byte messages share a block while a 64 KiB
/// receive fills one (one <c>recv</c> where 4 KiB blocks needed sixteen). A block goes back
/// to a free list once its data is consumed or sent; an idle connection holds none (the
/// reader receives into a per-thread scratch buffer first, and rents a block only for data the
/// service has not consumed at once). The free list keeps at most
/// <see cref="MaxRetainedBytes"/>, so a load peak does not hold memory for ever; beyond that,
/// returned blocks are left to the garbage collector (besides the one block each thread keeps
/// for its next rent).
/// Why not the shared ArrayPool: under echo load it handed out fresh arrays about every
/// other message (measured: ~2.3 KB allocated per 64-byte message, 10–12 gen-0 collections
/// a second; bench/RESULTS.md).
/// </remarks>
internal sealed class BlockPool(int blockSize = BlockPool.DefaultBlockSize) : MemoryPool<byte>
{
    public const int DefaultBlockSize = 64 * 1024;
    public const int MaxRetainedBytes = 16 * 1024 * 1024;

    private readonly ConcurrentQueue<Block> _free = new();
    private int _retained;
    private volatile bool _disposed;

    /// <summary>The pool of every connection ferryd serves or opens: one free list, one bound on what it keeps.</summary>
    public static BlockPool Default { get; } = new();

    public int BlockSize { get; } = blockSize;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        // The reader and writer never ask for more than MaxBufferSize: they rent bigger buffers elsewhere.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        if (t_last is { } last && ReferenceEquals(last.Pool, this))
        {
            t_last = null;
            return last;
        }
        if (_free.TryDequeue(out Block? block))
        {
            Interlocked.Add(ref _retained, -BlockSize);
            return block;
        }
        return new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        _free.Clear();
    }

    private void Return(Block block)
    {
        // A ping-pong message rents and returns a block on the same thread: the last one returned
        // stays with that thread for its next rent, without the shared queue's interlocked steps.
        if (!_disposed && (t_last is null || !ReferenceEquals(t_last.Pool, this)))
        {
            t_last = block;
            return;
        }
        if (_disposed || Interlocked.Add(ref _retained, BlockSize) > MaxRetainedBytes)
        {
            if (!_disposed)
                Interlocked.Add(ref _retained, -BlockSize);
            return; // dropped: the garbage collector takes it
        }
        _free.Enqueue(block);
    }

    /// <summary>The block this thread returned last (one per thread, beside the shared free list).</summary>
    [ThreadStatic]
    private static Block? t_last;

    private sealed class Block(BlockPool pool) : IMemoryOwner<byte>
    {
        public BlockPool Pool => pool;

        // Pinned heap: sockets pin their buffers for every I/O; these never move anyway.
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(pool.BlockSize, pinned: true);

        public Memory<byte> Memory => _array;

        public void Dispose() => pool.Return(this);
    }
}
