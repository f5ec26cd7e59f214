using System.Runtime.InteropServices;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Transport;

/// <summary>
/// One thread waiting on one epoll set for the sockets of the connections given to it, and
/// telling each connection when its socket may be read or written. Sockets are registered once,
/// edge-triggered, for both directions: no epoll call per read or write, and the connection
/// reads only when the kernel said there is something to read (where the runtime's sockets
/// first try a read that fails with EAGAIN, one wasted call per message in a ping-pong).
/// </summary>
internal sealed unsafe class EpollLoop
{
    private const int MaxEventsPerWait = 256;
    private const uint Interest = Epoll.In | Epoll.Out | Epoll.PeerHangUp | Epoll.EdgeTriggered;
    private const uint ReadableEvents = Epoll.In | Epoll.PeerHangUp | Epoll.HangUp | Epoll.Error;
    private const uint HungUpEvents = Epoll.PeerHangUp | Epoll.HangUp | Epoll.Error;
    private const uint WritableEvents = Epoll.Out | Epoll.HangUp | Epoll.Error;

    private readonly int _epoll;
    private readonly Lock _slotsGate = new();
    private readonly Stack<int> _freeSlots = new();
    private SocketConnection?[] _slots = new SocketConnection?[64];
    private int _usedSlots;

    private EpollLoop(int epoll, string name)
    {
        _epoll = epoll;
        var thread = new Thread(Run) { IsBackground = true, Name = name };
        thread.UnsafeStart();
    }

    private static int s_next;

    /// <summary>
    /// The loop for a new connection: the process has one per processor it may run on
    /// (started on first use), taken in turn.
    /// </summary>
    public static EpollLoop Next()
    {
        var loops = s_shared.Value;
        return loops[(int)((uint)Interlocked.Increment(ref s_next) % (uint)loops.Length)];
    }

    private static readonly Lazy<EpollLoop[]> s_shared = new(() =>
        Enumerable.Range(0, Math.Max(1, Environment.ProcessorCount)).Select(i => Create($"ferryd epoll {i}")).ToArray());

    /// <summary>
    /// Starts the loops now instead of at the first connection, so that failing to (no epoll
    /// instance to be had) is a startup error rather than every connection refused.
    /// </summary>
    public static void StartAll() => _ = s_shared.Value;

    private static EpollLoop Create(string name)
    {
        int epoll = Epoll.Create(Epoll.CloseOnExec);
        if (epoll < 0)
            throw new IOException($"epoll_create1: {Errno.Describe(Errno.Last)}");
        return new EpollLoop(epoll, name);
    }

    /// <summary>Starts reporting the connection's socket events to it; returns its registration.</summary>
    public void Register(SocketConnection connection)
    {
        int slot;
        lock (_slotsGate)
        {
            if (!_freeSlots.TryPop(out slot))
            {
                slot = _usedSlots++;
                if (slot == _slots.Length)
                {
                    var grown = new SocketConnection?[_slots.Length * 2];
                    _slots.CopyTo(grown, 0);
                    Volatile.Write(ref _slots, grown);
                }
            }
            _slots[slot] = connection;
        }
        connection.Slot = slot;
        byte* control = stackalloc byte[16];
        Epoll.WriteEvent(control, Interest, (ulong)(uint)slot | ((ulong)connection.Generation << 32));
        if (Epoll.Control(_epoll, Epoll.Add, connection.Handle, control) != 0)
        {
            int error = Errno.Last;
            Unregister(connection);
            throw new IOException($"epoll_ctl: {Errno.Describe(error)}");
        }
    }

    /// <summary>
    /// Forgets the connection once its socket is closed (closing it removed it from the epoll
    /// set). An event already read for it is dropped by the generation check.
    /// </summary>
    public void Unregister(SocketConnection connection)
    {
        lock (_slotsGate)
        {
            if (ReferenceEquals(_slots[connection.Slot], connection))
            {
                _slots[connection.Slot] = null;
                _freeSlots.Push(connection.Slot);
            }
        }
    }

    private void Run()
    {
        int size = Epoll.EventSize;
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEventsPerWait * size));
        while (true)
        {
            int count = Epoll.Wait(_epoll, events, MaxEventsPerWait, -1);
            if (count < 0)
            {
                if (Errno.Last == Errno.Interrupted)
                    continue;
                // An epoll set that cannot be waited on is a bug, not a peer's doing.
                Environment.FailFast($"epoll_wait: {Errno.Describe(Errno.Last)}");
            }
            var slots = Volatile.Read(ref _slots);
            for (int i = 0; i < count; i++)
            {
                var (mask, data) = Epoll.ReadEvent(events + i * size);
                int slot = (int)(uint)data;
                if (slot >= slots.Length)
                    slots = Volatile.Read(ref _slots);
                var connection = slots[slot];
                if (connection is null || connection.Generation != (uint)(data >> 32))
                    continue;
                // Both directions may be reported at once; whoever waits on either resumes here, inline.
                if ((mask & WritableEvents) != 0)
                    connection.Writer.OnWritable();
                if ((mask & ReadableEvents) != 0)
                    connection.Reader.OnReadable(hungUp: (mask & HungUpEvents) != 0);
            }
        }
    }
}
