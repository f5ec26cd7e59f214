using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Transport;

/// <summary>
/// One thread waiting on one epoll set and telling what it registered (connections, listening
/// sockets) what the kernel reported. Connections are registered once, edge-triggered, for both
/// directions: no epoll call per read or write, and a connection reads only when the kernel said
/// there is something to read. Listening sockets are registered with every loop (one wakes per
/// new peer), and a connection stays on the loop that accepted it: accept, reads, the service and
/// writes of a connection whose service never blocks all run on one thread, as a C epoll server's do.
/// </summary>
internal sealed unsafe class EpollLoop
{
    private const int MaxEventsPerWait = 256;

    [ThreadStatic]
    private static EpollLoop? t_current;

    private readonly int _epoll;
    private readonly Lock _slotsGate = new();
    // Only this loop's thread touches it (Later defers to the loop of the thread that calls it): no lock.
    private readonly Queue<(Action<object?> Work, object? State)> _deferred = new();
    private readonly SlotTable<Entry> _slots = new(64);
    private static int s_lastGeneration;

    /// <summary>A registration: what to tell, and which registration in that slot it is.</summary>
    private readonly record struct Entry(IEpollTarget? Target, uint Generation);

    private EpollLoop(int epoll, int index)
    {
        _epoll = epoll;
        Index = index;
        var thread = new Thread(Run) { IsBackground = true, Name = $"ferryd epoll {index}" };
        thread.UnsafeStart();
    }

    /// <summary>Where this loop is in <see cref="All"/>.</summary>
    public int Index { get; }

    /// <summary>The loop whose thread this is, or null on any other thread.</summary>
    public static EpollLoop? Current => t_current;

    private static int s_next;

    /// <summary>Every loop of the process: one per processor it may run on, started on first use.</summary>
    public static IReadOnlyList<EpollLoop> All => s_shared.Value;

    /// <summary>A loop for a connection that was not accepted by one (an outgoing connection): taken in turn.</summary>
    public static EpollLoop Next()
    {
        var loops = s_shared.Value;
        return loops[(int)((uint)Interlocked.Increment(ref s_next) % (uint)loops.Length)];
    }

    private static readonly Lazy<EpollLoop[]> s_shared = new(() =>
        Enumerable.Range(0, Math.Max(1, Environment.ProcessorCount)).Select(Create).ToArray());

    /// <summary>
    /// Starts the loops now instead of at the first connection, so that failing to (no epoll
    /// instance to be had) is a startup error rather than every connection refused.
    /// </summary>
    public static void StartAll() => _ = s_shared.Value;

    private static EpollLoop Create(int index)
    {
        int epoll = Epoll.Create(Epoll.CloseOnExec);
        if (epoll < 0)
            throw new IOException($"epoll_create1: {Errno.Describe(Errno.Last)}");
        return new EpollLoop(epoll, index);
    }

    /// <summary>Starts reporting <paramref name="socket"/>'s events to <paramref name="target"/>; returns the registration's slot.</summary>
    public int Register(IEpollTarget target, SafeHandle socket, uint interest)
    {
        uint generation = (uint)Interlocked.Increment(ref s_lastGeneration);
        int slot;
        lock (_slotsGate)
            slot = _slots.Add(new Entry(target, generation));
        byte* control = stackalloc byte[16];
        Epoll.WriteEvent(control, interest, (ulong)(uint)slot | ((ulong)generation << 32));
        bool added = false;
        socket.DangerousAddRef(ref added);
        try
        {
            if (Epoll.Control(_epoll, Epoll.Add, (int)socket.DangerousGetHandle(), control) == 0)
                return slot;
        }
        finally
        {
            if (added)
                socket.DangerousRelease();
        }
        int error = Errno.Last;
        Forget(slot, target);
        throw new IOException($"epoll_ctl: {Errno.Describe(error)}");
    }

    /// <summary>
    /// Stops reporting for a socket that stays open (a listening socket paused). A closed socket
    /// leaves the epoll set by itself; then <see cref="Forget"/> is enough.
    /// </summary>
    public void Unregister(int slot, IEpollTarget target, SafeHandle socket)
    {
        bool added = false;
        socket.DangerousAddRef(ref added);
        try
        {
            Epoll.Control(_epoll, Epoll.Delete, (int)socket.DangerousGetHandle(), null);
        }
        finally
        {
            if (added)
                socket.DangerousRelease();
        }
        Forget(slot, target);
    }

    /// <summary>Frees the slot; an event already read for it is dropped by the generation check.</summary>
    public void Forget(int slot, IEpollTarget target)
    {
        lock (_slotsGate)
        {
            if (ReferenceEquals(_slots[slot].Target, target))
                _slots.Free(slot);
        }
    }

    /// <summary>
    /// Steps off: the rest of the work runs on this loop after the events already reported (a
    /// connection that had its fair share lets the others on its loop go first), or on the thread
    /// pool when called from a thread that is not a loop's.
    /// </summary>
    public static LoopYield YieldAsync() => default;

    private void Defer(Action<object?> work, object? state) => _deferred.Enqueue((work, state));

    /// <summary>
    /// <see cref="YieldAsync"/> without an awaiter: <paramref name="work"/> runs on this loop after
    /// the events already reported, or on the thread pool when called from any other thread.
    /// </summary>
    public static void Later(Action<object?> work, object? state)
    {
        if (t_current is { } loop)
            loop.Defer(work, state);
        else
            ThreadPool.UnsafeQueueUserWorkItem(work, state, preferLocal: true);
    }

    private void Run()
    {
        t_current = this;
        int size = Epoll.EventSize;
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEventsPerWait * size));
        while (true)
        {
            int count = Epoll.Wait(_epoll, events, MaxEventsPerWait, _deferred.Count == 0 ? -1 : 0);
            if (count < 0)
            {
                if (Errno.Last == Errno.Interrupted)
                    continue;
                // An epoll set that cannot be waited on is a bug, not a peer's doing.
                Environment.FailFast($"epoll_wait: {Errno.Describe(Errno.Last)}");
            }
            var slots = _slots.Items;
            for (int i = 0; i < count; i++)
            {
                var (mask, data) = Epoll.ReadEvent(events + i * size);
                int slot = (int)(uint)data;
                if (slot >= slots.Length)
                    slots = _slots.Items;
                var entry = slots[slot];
                if (entry.Target is not null && entry.Generation == (uint)(data >> 32))
                    entry.Target.OnEvents(mask, this);
            }
            // What stepped off before this wait; what steps off now waits for the next round.
            for (int pending = _deferred.Count; pending > 0; pending--)
            {
                var deferred = _deferred.Dequeue();
                deferred.Work(deferred.State);
            }
        }
    }

    /// <summary>The awaitable of <see cref="YieldAsync"/>.</summary>
    public readonly struct LoopYield : ICriticalNotifyCompletion
    {
        public LoopYield GetAwaiter() => this;

        public bool IsCompleted => false;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

        public void UnsafeOnCompleted(Action continuation) => Later(static state => ((Action)state!)(), continuation);
    }
}
