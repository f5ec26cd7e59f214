using System.Runtime.InteropServices;

namespace Ferry.Platform.Linux;

/// <summary>
/// A batch of datagram slots in native memory, filled by one <c>recvmmsg(2)</c> and answered by
/// one <c>sendmmsg(2)</c>: a buffer large enough for any UDP datagram and the sender's address
/// per slot. A reply goes out from its request's slot to its request's sender, so echoing
/// copies nothing. Allocated once per UDP socket and driven from one thread.
/// </summary>
public sealed unsafe partial class DatagramBatch : IDisposable
{
    /// <summary>Larger than any UDP payload (65,507 bytes over IPv4, 65,527 over IPv6).</summary>
    public const int SlotCapacity = 65_536;

    private const int AddressRoom = 32;          // sockaddr_in6 (28), rounded up
    private const int DontWait = 0x40;           // MSG_DONTWAIT
    private const int Truncated = 0x20;          // MSG_TRUNC in msg_flags

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public byte* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MultiMessageHeader
    {
        public MessageHeader Header;
        public uint Length;
    }

    [LibraryImport(Libc.Name, EntryPoint = "recvmmsg", SetLastError = true)]
    private static partial int ReceiveMany(SafeHandle socket, MultiMessageHeader* messages, uint count, int flags, void* timeout);

    [LibraryImport(Libc.Name, EntryPoint = "sendmmsg", SetLastError = true)]
    private static partial int SendMany(SafeHandle socket, MultiMessageHeader* messages, uint count, int flags);

    private readonly byte* _buffers;
    private readonly byte* _addresses;
    private readonly IoVector* _received;
    private readonly IoVector* _replies;
    private readonly MultiMessageHeader* _receiving;
    private readonly MultiMessageHeader* _sending;
    private int _replyCount;
    private bool _disposed;

    public DatagramBatch(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        Slots = slots;
        _buffers = (byte*)NativeMemory.Alloc((nuint)slots * SlotCapacity);
        _addresses = (byte*)NativeMemory.AllocZeroed((nuint)slots * AddressRoom);
        _received = (IoVector*)NativeMemory.AllocZeroed((nuint)(slots * sizeof(IoVector)));
        _replies = (IoVector*)NativeMemory.AllocZeroed((nuint)(slots * sizeof(IoVector)));
        _receiving = (MultiMessageHeader*)NativeMemory.AllocZeroed((nuint)(slots * sizeof(MultiMessageHeader)));
        _sending = (MultiMessageHeader*)NativeMemory.AllocZeroed((nuint)(slots * sizeof(MultiMessageHeader)));
        for (int i = 0; i < slots; i++)
        {
            _received[i] = new IoVector { Base = _buffers + (nint)i * SlotCapacity, Length = SlotCapacity };
            _receiving[i].Header.Name = _addresses + i * AddressRoom;
            _receiving[i].Header.Vectors = _received + i;
            _receiving[i].Header.VectorCount = 1;
            _sending[i].Header.Vectors = _replies + i;
            _sending[i].Header.VectorCount = 1;
        }
    }

    public int Slots { get; }

    /// <summary>
    /// Receives what is waiting, up to one per slot, without blocking: the number received
    /// (0: nothing waiting), or -errno. Replies queued before are forgotten.
    /// </summary>
    public int Receive(SafeHandle socket)
    {
        _replyCount = 0;
        for (int i = 0; i < Slots; i++)
        {
            _receiving[i].Header.NameLength = AddressRoom;
            _receiving[i].Header.Flags = 0;
        }
        while (true)
        {
            int count = ReceiveMany(socket, _receiving, (uint)Slots, DontWait, null);
            if (count >= 0)
                return count;
            int errno = Errno.Last;
            if (errno == Errno.Interrupted)
                continue;
            return errno == Errno.WouldBlock ? 0 : -errno;
        }
    }

    /// <summary>The datagram in <paramref name="slot"/>, writable: a reply may be written over it.</summary>
    public Span<byte> Buffer(int slot) => new(_buffers + (nint)slot * SlotCapacity, SlotCapacity);

    /// <summary>The size of the datagram received in <paramref name="slot"/>.</summary>
    public int Length(int slot) => (int)_receiving[slot].Length;

    /// <summary>It did not fit its slot (cannot happen for UDP, whose datagrams all fit: a guard).</summary>
    public bool WasTruncated(int slot) => (_receiving[slot].Header.Flags & Truncated) != 0;

    /// <summary>The sender's address (a sockaddr_in or sockaddr_in6).</summary>
    public ReadOnlySpan<byte> Sender(int slot) =>
        new(_addresses + slot * AddressRoom, (int)_receiving[slot].Header.NameLength);

    /// <summary>Queues the first <paramref name="length"/> bytes of <paramref name="slot"/>'s buffer as the reply to its sender.</summary>
    public void Reply(int slot, int length)
    {
        int reply = _replyCount++;
        _replies[reply] = new IoVector { Base = _buffers + (nint)slot * SlotCapacity, Length = (nuint)length };
        _sending[reply].Header.Name = _receiving[slot].Header.Name;
        _sending[reply].Header.NameLength = _receiving[slot].Header.NameLength;
    }

    public int RepliesQueued => _replyCount;

    /// <summary>Bytes of the queued reply <paramref name="reply"/> (in the order queued).</summary>
    public int ReplyLength(int reply) => (int)_replies[reply].Length;

    /// <summary>
    /// Sends the queued replies without blocking; returns how many were not sent. A full send
    /// buffer drops the rest (UDP may drop them anyway, and a server never waits on a sender); a
    /// reply refused for its own sake (EACCES to a broadcast address) is dropped and the rest go
    /// on. <paramref name="lastErrno"/>: why the last one was dropped.
    /// </summary>
    public int SendReplies(SafeHandle socket, out int lastErrno)
    {
        lastErrno = 0;
        int next = 0, dropped = 0;
        while (next < _replyCount)
        {
            int count = SendMany(socket, _sending + next, (uint)(_replyCount - next), DontWait | SocketCalls.NoSignal);
            if (count > 0)
            {
                next += count;
                continue;
            }
            int errno = Errno.Last;
            if (errno == Errno.Interrupted)
                continue;
            lastErrno = errno;
            if (errno is Errno.WouldBlock or Errno.NoBufferSpace)
            {
                dropped += _replyCount - next;
                break;
            }
            dropped++;
            next++;
        }
        _replyCount = 0;
        return dropped;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        NativeMemory.Free(_buffers);
        NativeMemory.Free(_addresses);
        NativeMemory.Free(_received);
        NativeMemory.Free(_replies);
        NativeMemory.Free(_receiving);
        NativeMemory.Free(_sending);
    }
}
