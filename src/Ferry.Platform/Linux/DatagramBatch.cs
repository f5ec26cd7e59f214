using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ferry.Platform.Linux;

/// <summary>
/// A batch of datagram slots in native memory, filled by one <c>recvmmsg(2)</c> and answered by
/// one <c>sendmmsg(2)</c>: per slot a buffer large enough for any UDP datagram, the sender's
/// address and the datagram's control messages. A reply goes out from its request's slot to its
/// request's sender, so echoing copies nothing, with its request's control messages: on a socket
/// bound to every address (<see cref="ReportDestination"/>) those say which address the request
/// was sent to, and the reply leaves from it, as a client expects. Allocated once per UDP socket
/// and driven from one thread.
/// </summary>
public sealed unsafe partial class DatagramBatch : IDisposable
{
    /// <summary>Larger than any UDP payload (65,507 bytes over IPv4, 65,527 over IPv6).</summary>
    public const int SlotCapacity = 65_536;

    /// <summary>
    /// Room for the control messages kept per datagram: an IPv4 datagram on a dual-stack socket
    /// comes with both an in6_pktinfo (CMSG_SPACE(20) = 40) and an in_pktinfo (32).
    /// </summary>
    public const int ControlRoom = 128;

    private const int AddressRoom = 32;          // sockaddr_in6 (28), rounded up
    private const int DontWait = 0x40;           // MSG_DONTWAIT
    private const int Truncated = 0x20;          // MSG_TRUNC in msg_flags
    private const int IpLevel = 0;               // SOL_IP
    private const int IpPacketInfo = 8;          // IP_PKTINFO
    private const int Ipv6Level = 41;            // SOL_IPV6
    private const int Ipv6ReceivePacketInfo = 49; // IPV6_RECVPKTINFO

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

    [LibraryImport(Libc.Name, EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendOneCall(SafeHandle socket, MessageHeader* message, int flags);

    private readonly byte* _buffers;
    private readonly byte* _addresses;
    private readonly byte* _controls;
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
        _controls = (byte*)NativeMemory.AllocZeroed((nuint)slots * ControlRoom);
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
            _receiving[i].Header.Control = _controls + i * ControlRoom;
            _sending[i].Header.Vectors = _replies + i;
            _sending[i].Header.VectorCount = 1;
        }
    }

    public int Slots { get; }

    /// <summary>
    /// Asks the kernel to tell, with each datagram, the address it was sent to (IP_PKTINFO, and
    /// IPV6_RECVPKTINFO on an IPv6 socket, whose IPv4-mapped peers get the former): for a socket
    /// bound to every address, so that replies leave from the address a client wrote to. 0, or the errno.
    /// </summary>
    public static int ReportDestination(Socket socket)
    {
        int on = 1;
        var handle = socket.SafeHandle;
        if (SocketCalls.SetOption(handle, IpLevel, IpPacketInfo, &on, sizeof(int)) != 0)
            return Errno.Last;
        if (socket.AddressFamily == AddressFamily.InterNetworkV6 && SocketCalls.SetOption(handle, Ipv6Level, Ipv6ReceivePacketInfo, &on, sizeof(int)) != 0)
            return Errno.Last;
        return 0;
    }

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
            _receiving[i].Header.ControlLength = ControlRoom;
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

    /// <summary>The datagram's control messages (where it was sent to, when asked for), to send a later reply with.</summary>
    public ReadOnlySpan<byte> Control(int slot) =>
        new(_controls + slot * ControlRoom, (int)Math.Min(_receiving[slot].Header.ControlLength, ControlRoom));

    /// <summary>Queues the first <paramref name="length"/> bytes of <paramref name="slot"/>'s buffer as the reply to its sender.</summary>
    public void Reply(int slot, int length)
    {
        int reply = _replyCount++;
        _replies[reply] = new IoVector { Base = _buffers + (nint)slot * SlotCapacity, Length = (nuint)length };
        _sending[reply].Header.Name = _receiving[slot].Header.Name;
        _sending[reply].Header.NameLength = _receiving[slot].Header.NameLength;
        _sending[reply].Header.Control = _receiving[slot].Header.ControlLength == 0 ? null : _receiving[slot].Header.Control;
        _sending[reply].Header.ControlLength = _receiving[slot].Header.ControlLength;
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

    /// <summary>
    /// One datagram to <paramref name="address"/> with <paramref name="control"/> (a request's,
    /// from <see cref="Control"/>), without blocking: 0, or the errno.
    /// </summary>
    public static int SendOne(SafeHandle socket, ReadOnlySpan<byte> data, ReadOnlySpan<byte> address, ReadOnlySpan<byte> control)
    {
        fixed (byte* bytes = data)
        fixed (byte* name = address)
        fixed (byte* controls = control)
        {
            var vector = new IoVector { Base = bytes, Length = (nuint)data.Length };
            var message = new MessageHeader
            {
                Name = name,
                NameLength = (uint)address.Length,
                Vectors = &vector,
                VectorCount = 1,
                Control = control.IsEmpty ? null : controls,
                ControlLength = (nuint)control.Length,
            };
            while (true)
            {
                if (SendOneCall(socket, &message, DontWait | SocketCalls.NoSignal) >= 0)
                    return 0;
                int errno = Errno.Last;
                if (errno != Errno.Interrupted)
                    return errno;
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        NativeMemory.Free(_buffers);
        NativeMemory.Free(_addresses);
        NativeMemory.Free(_controls);
        NativeMemory.Free(_received);
        NativeMemory.Free(_replies);
        NativeMemory.Free(_receiving);
        NativeMemory.Free(_sending);
    }
}
