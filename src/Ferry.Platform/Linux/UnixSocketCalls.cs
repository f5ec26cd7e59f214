using System.Runtime.InteropServices;

namespace Ferry.Platform.Linux;

/// <summary>Who is at the other end of a Unix-domain socket, as the kernel vouches for it (SO_PEERCRED).</summary>
public readonly record struct PeerCredentials(int ProcessId, uint UserId, uint GroupId);

/// <summary>
/// The calls a Unix-domain listener needs beyond the runtime's sockets: the peer's credentials,
/// and the socket file's owner.
/// </summary>
public static unsafe partial class UnixSocketCalls
{
    private const int PeerCredentialsOption = 17;  // SO_PEERCRED

    /// <summary>chown(2)'s "leave this one as it is".</summary>
    public const uint Unchanged = uint.MaxValue;

    [LibraryImport(Libc.Name, EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int GetOption(int descriptor, int level, int name, void* value, int* valueLength);

    [LibraryImport(Libc.Name, EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChangeOwnerCall(string path, uint owner, uint group);

    [LibraryImport(Libc.Name, EntryPoint = "geteuid")]
    private static partial uint EffectiveUserIdCall();

    /// <summary>
    /// The process that connected (or the one that holds the connection now, for a socket passed
    /// on), its user and group, as of connect(2); null if the socket is not a Unix-domain one.
    /// </summary>
    public static PeerCredentials? PeerOf(int descriptor)
    {
        int* credentials = stackalloc int[3];
        int length = 3 * sizeof(int);
        if (GetOption(descriptor, SocketCalls.SocketLevel, PeerCredentialsOption, credentials, &length) != 0 || length < 3 * sizeof(int))
            return null;
        return new PeerCredentials(credentials[0], (uint)credentials[1], (uint)credentials[2]);
    }

    /// <summary>chown(2): 0, or the errno. <see cref="Unchanged"/> leaves the owner or the group.</summary>
    public static int ChangeOwner(string path, uint owner, uint group) =>
        ChangeOwnerCall(path, owner, group) == 0 ? 0 : Errno.Last;

    [LibraryImport(Libc.Name, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatusCall(int directory, string path, int flags, uint mask, byte* status);

    private const int CurrentDirectory = -100;   // AT_FDCWD
    private const int NoFollow = 0x100;          // AT_SYMLINK_NOFOLLOW
    private const uint TypeWanted = 1;           // STATX_TYPE
    private const int StatusSize = 256;          // struct statx, the same on every architecture
    private const int ModeOffset = 28;           // stx_mode (__u16)
    private const int TypeMask = 0xF000;         // S_IFMT
    private const int SocketType = 0xC000;       // S_IFSOCK

    /// <summary>
    /// Is there a socket at <paramref name="path"/> (the link itself, not what it points to)?
    /// Null: nothing there at all; false: something that is not a socket.
    /// </summary>
    public static bool? IsSocketFile(string path)
    {
        byte* status = stackalloc byte[StatusSize];
        if (StatusCall(CurrentDirectory, path, NoFollow, TypeWanted, status) != 0)
            return Errno.Last == Errno.NoSuchFile ? null : false;
        return (*(ushort*)(status + ModeOffset) & TypeMask) == SocketType;
    }

    /// <summary>The user this process acts as.</summary>
    public static uint EffectiveUserId => EffectiveUserIdCall();
}
