using System.Runtime.InteropServices;

namespace Ferry.Platform.Linux;

/// <summary>epoll: its calls, its flags and the layout of <c>struct epoll_event</c>, written once.</summary>
public static unsafe partial class Epoll
{
    public const int CloseOnExec = 0x80000;   // EPOLL_CLOEXEC
    public const int Add = 1;                 // EPOLL_CTL_ADD
    public const int Delete = 2;              // EPOLL_CTL_DEL
    public const int Modify = 3;              // EPOLL_CTL_MOD
    public const uint In = 0x001;             // EPOLLIN
    public const uint Out = 0x004;            // EPOLLOUT
    public const uint Error = 0x008;          // EPOLLERR
    public const uint HangUp = 0x010;         // EPOLLHUP
    public const uint PeerHangUp = 0x2000;    // EPOLLRDHUP
    public const uint EdgeTriggered = 1u << 31; // EPOLLET
    public const uint Exclusive = 1u << 28;   // EPOLLEXCLUSIVE: of the sets waiting on one socket, wake one

    /// <summary>
    /// <c>struct epoll_event</c>: a 32-bit event mask then 64 bits of user data, packed (12 bytes)
    /// on x86-64 and naturally aligned (16 bytes) elsewhere.
    /// </summary>
    public static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    /// <summary>Where the user data starts in an event.</summary>
    public static int DataOffset => EventSize - 8;

    [LibraryImport(Libc.Name, EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int Create(int flags);

    [LibraryImport(Libc.Name, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int Control(int epoll, int operation, int descriptor, byte* epollEvent);

    [LibraryImport(Libc.Name, EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int Wait(int epoll, byte* events, int maxEvents, int timeoutMilliseconds);

    /// <summary>Writes one event (mask and 64-bit user data) at <paramref name="slot"/>.</summary>
    public static void WriteEvent(byte* slot, uint mask, ulong data)
    {
        *(uint*)slot = mask;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(slot + DataOffset, 8), data);
    }

    /// <summary>Reads one event back.</summary>
    public static (uint Mask, ulong Data) ReadEvent(byte* slot) =>
        (*(uint*)slot, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(slot + DataOffset, 8)));
}
