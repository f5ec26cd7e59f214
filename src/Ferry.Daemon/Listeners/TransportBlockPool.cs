using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// The buffers of the socket transport's pipes: fixed 4 KiB blocks, pinned, reused.
/// </summary>
/// <remarks>
/// Why ferryd has its own: outside KestrelServer's dependency injection, Kestrel's socket
/// transport falls back to <c>MemoryPool&lt;byte&gt;.Shared</c>, i.e. the shared ArrayPool,
/// which under echo load handed out fresh arrays about every other message (measured:
/// ~2.3 KB allocated per 64-byte ping-pong message, 10–12 gen-0 collections a second).
/// Blocks here go back to a free list when a pipe releases them; the free list keeps at most
/// <see cref="MaxRetainedBytes"/> so a load peak does not hold memory for ever. Idle
/// connections hold no block (the transport waits for data before renting one).
/// </remarks>
internal sealed class TransportBlockPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;
    public const int MaxRetainedBytes = 16 * 1024 * 1024;

    private readonly ConcurrentQueue<Block> _free = new();
    private int _retained;
    private volatile bool _disposed;

    public override int MaxBufferSize => BlockSize;

    /// <summary>
    /// Makes <paramref name="options"/> use a pool of this kind. The transport's hook for it is
    /// not public (only Kestrel's own host sets it), hence reflection; without the hook (a
    /// future Kestrel) the transport keeps its default pool, which works, only allocating more.
    /// The attribute keeps the property through trimming and Native AOT.
    /// </summary>
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.NonPublicProperties, typeof(SocketConnectionFactoryOptions))]
    public static bool TryApply(SocketConnectionFactoryOptions options)
    {
        PropertyInfo? hook = typeof(SocketConnectionFactoryOptions).GetProperty(
            "MemoryPoolFactory", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        if (hook is null || !hook.CanWrite || hook.PropertyType != typeof(IMemoryPoolFactory<byte>))
            return false;
        hook.SetValue(options, Factory.Instance);
        return true;
    }

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        // Pipes never ask a pool for more than MaxBufferSize: they rent bigger buffers elsewhere.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
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
        if (_disposed || Interlocked.Add(ref _retained, BlockSize) > MaxRetainedBytes)
        {
            if (!_disposed)
                Interlocked.Add(ref _retained, -BlockSize);
            return; // dropped: the garbage collector takes it
        }
        _free.Enqueue(block);
    }

    private sealed class Block(TransportBlockPool pool) : IMemoryOwner<byte>
    {
        // Pinned heap: sockets pin their buffers for every I/O; these never move anyway.
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public Memory<byte> Memory => _array;

        public void Dispose() => pool.Return(this);
    }

    private sealed class Factory : IMemoryPoolFactory<byte>
    {
        public static readonly Factory Instance = new();

        public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new TransportBlockPool();
    }
}
