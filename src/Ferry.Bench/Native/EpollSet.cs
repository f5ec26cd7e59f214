using Ferry.Platform.Linux;
using EpollCalls = Ferry.Platform.Linux.Epoll;

namespace Ferry.Bench.Native;

/// <summary>
/// One epoll instance, level-triggered, each registration tagged with a caller's index (the
/// event layout is <see cref="Epoll"/>'s). Used by one thread only.
/// </summary>
internal sealed unsafe class EpollSet : IDisposable
{
    private readonly int _fd;
    private readonly byte[] _events;

    public EpollSet(int capacity)
    {
        _fd = EpollCalls.Create(EpollCalls.CloseOnExec);
        if (_fd < 0)
            throw new InvalidOperationException($"epoll_create1: {Errno.Describe(Errno.Last)}");
        Capacity = capacity;
        _events = GC.AllocateArray<byte>(capacity * EpollCalls.EventSize, pinned: true);
    }

    /// <summary>Most events one <see cref="Wait"/> returns.</summary>
    public int Capacity { get; }

    public int Add(int fd, uint events, int tag) => Control(EpollCalls.Add, fd, events, tag);

    public int Modify(int fd, uint events, int tag) => Control(EpollCalls.Modify, fd, events, tag);

    /// <summary>Waits for events; returns how many (0 on timeout or interruption).</summary>
    public int Wait(int timeoutMilliseconds)
    {
        int count;
        fixed (byte* events = _events)
            count = EpollCalls.Wait(_fd, events, Capacity, timeoutMilliseconds);
        if (count >= 0)
            return count;
        int error = Errno.Last;
        if (error == Errno.Interrupted)
            return 0;
        throw new InvalidOperationException($"epoll_wait: {Errno.Describe(error)}");
    }

    public uint EventsAt(int index)
    {
        fixed (byte* events = _events)
            return EpollCalls.ReadEvent(events + index * EpollCalls.EventSize).Mask;
    }

    public int TagAt(int index)
    {
        fixed (byte* events = _events)
            return (int)EpollCalls.ReadEvent(events + index * EpollCalls.EventSize).Data;
    }

    public void Dispose() => DescriptorCalls.Close(_fd);

    private int Control(int operation, int fd, uint events, int tag)
    {
        byte* control = stackalloc byte[16];
        EpollCalls.WriteEvent(control, events, (ulong)tag);
        return EpollCalls.Control(_fd, operation, fd, control) == 0 ? 0 : Errno.Last;
    }
}
