using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Ferry.Bench.Native;

/// <summary>
/// One epoll instance, level-triggered, each registration tagged with a caller's index.
/// <c>struct epoll_event</c> is packed (12 bytes) on x86-64 and naturally aligned (16 bytes)
/// elsewhere; it is read and written as bytes so neither layout needs unsafe code.
/// Used by one thread only.
/// </summary>
internal sealed class EpollSet : IDisposable
{
    private static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int DataOffset = EventSize - 8;

    private readonly int _fd;
    private readonly byte[] _control = new byte[16];
    private readonly byte[] _events;

    public EpollSet(int capacity)
    {
        _fd = LinuxSockets.EpollCreate(LinuxSockets.EpollCloseOnExec);
        if (_fd < 0)
            throw new InvalidOperationException($"epoll_create1: {Errno.Describe(LinuxSockets.LastError)}");
        Capacity = capacity;
        _events = new byte[capacity * EventSize];
    }

    /// <summary>Most events one <see cref="Wait"/> returns.</summary>
    public int Capacity { get; }

    public int Add(int fd, uint events, int tag) => Control(LinuxSockets.EpollAdd, fd, events, tag);

    public int Modify(int fd, uint events, int tag) => Control(LinuxSockets.EpollModify, fd, events, tag);

    /// <summary>Waits for events; returns how many (0 on timeout or interruption).</summary>
    public int Wait(int timeoutMilliseconds)
    {
        int count = LinuxSockets.EpollWait(_fd, _events, Capacity, timeoutMilliseconds);
        if (count >= 0)
            return count;
        int error = LinuxSockets.LastError;
        if (error == LinuxSockets.ErrorInterrupted)
            return 0;
        throw new InvalidOperationException($"epoll_wait: {Errno.Describe(error)}");
    }

    public uint EventsAt(int index) =>
        BinaryPrimitives.ReadUInt32LittleEndian(_events.AsSpan(index * EventSize));

    public int TagAt(int index) =>
        (int)BinaryPrimitives.ReadUInt64LittleEndian(_events.AsSpan(index * EventSize + DataOffset));

    public void Dispose() => LinuxSockets.Close(_fd);

    private int Control(int operation, int fd, uint events, int tag)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_control, events);
        BinaryPrimitives.WriteUInt64LittleEndian(_control.AsSpan(DataOffset), (ulong)tag);
        return LinuxSockets.EpollControl(_fd, operation, fd, _control) == 0 ? 0 : LinuxSockets.LastError;
    }
}
