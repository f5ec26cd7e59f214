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

    [LibraryImport(Libc.Name, EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int GetOption(SafeHandle socket, int level, int name, void* value, int* valueLength);

    [LibraryImport(Libc.Name, EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChangeOwnerCall(string path, uint owner, uint group);

    [LibraryImport(Libc.Name, EntryPoint = "fchmodat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChangeModeCall(int directory, string path, uint mode, int flags);

    private const int CurrentDirectory = -100;   // AT_FDCWD
    private const int NoFollow = 0x100;          // AT_SYMLINK_NOFOLLOW

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
        return GetOption(descriptor, SocketCalls.SocketLevel, PeerCredentialsOption, credentials, &length) == 0 ? Read(credentials, length) : null;
    }

    /// <summary>The same for a socket the runtime holds (null also when it is closed).</summary>
    public static PeerCredentials? PeerOf(SafeHandle socket)
    {
        int* credentials = stackalloc int[3];
        int length = 3 * sizeof(int);
        try
        {
            return GetOption(socket, SocketCalls.SocketLevel, PeerCredentialsOption, credentials, &length) == 0 ? Read(credentials, length) : null;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
    }

    private static PeerCredentials? Read(int* credentials, int length) =>
        length < 3 * sizeof(int) ? null : new PeerCredentials(credentials[0], (uint)credentials[1], (uint)credentials[2]);

    /// <summary>
    /// lchown(2): 0, or the errno. <see cref="Unchanged"/> leaves the owner or the group. A
    /// symbolic link put at the path is changed itself, never what it points to.
    /// </summary>
    public static int ChangeOwner(string path, uint owner, uint group) =>
        ChangeOwnerCall(path, owner, group) == 0 ? 0 : Errno.Last;

    /// <summary>
    /// fchmodat(2) with AT_SYMLINK_NOFOLLOW: 0, or the errno (a symbolic link at the path is refused,
    /// never followed to whatever it points to).
    /// </summary>
    public static int ChangeMode(string path, UnixFileMode mode) =>
        ChangeModeCall(CurrentDirectory, path, (uint)mode, NoFollow) == 0 ? 0 : Errno.Last;

    /// <summary>The user this process acts as.</summary>
    public static uint EffectiveUserId => EffectiveUserIdCall();
}
