using System.Runtime.InteropServices;

namespace Ferry.Platform.Linux;

/// <summary>
/// What a path names, asked of the kernel. The runtime tells files from directories but not a
/// socket from a regular file (its file modes carry the permission bits only), and its socket
/// errors for a Unix socket path lose the errno (ENOENT arrives as "address not available",
/// ENOTDIR as an unknown error): a look at the path itself says what is wrong with it.
/// </summary>
public static unsafe partial class PathCalls
{
    private const int CurrentDirectory = -100;    // AT_FDCWD
    private const int NoFollowSymlink = 0x100;    // AT_SYMLINK_NOFOLLOW
    private const uint WantType = 0x1;            // STATX_TYPE
    private const int TypeMask = 0xF000;          // S_IFMT
    private const int SocketType = 0xC000;        // S_IFSOCK

    // struct statx is the same on every architecture (unlike struct stat): 256 bytes, the
    // file type and mode in the 16 bits at offset 28 (stx_mode).
    private const int StatxSize = 256;
    private const int ModeOffset = 28;

    [LibraryImport(Libc.Name, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directory, string path, int flags, uint mask, byte* result);

    /// <summary>
    /// Whether <paramref name="path"/> is a socket. Returns 0, or the errno that stopped the look
    /// (ENOENT, ENOTDIR, EACCES, ELOOP...), in which case <paramref name="isSocket"/> is false.
    /// </summary>
    /// <param name="followSymlink">
    /// False to judge a symbolic link itself (never a socket), as one must before removing
    /// whatever the path names.
    /// </param>
    public static int IsSocket(string path, bool followSymlink, out bool isSocket)
    {
        byte* result = stackalloc byte[StatxSize];
        isSocket = false;
        if (Statx(CurrentDirectory, path, followSymlink ? 0 : NoFollowSymlink, WantType, result) != 0)
            return Errno.Last;
        int mode = *(ushort*)(result + ModeOffset);
        isSocket = (mode & TypeMask) == SocketType;
        return 0;
    }

    /// <summary>
    /// Whether <paramref name="directory"/> can hold a new entry as far as looking goes: 0 if it
    /// is a directory that can be searched, else the errno (ENOENT, ENOTDIR, EACCES...). Write
    /// permission is not checked; the call that creates the entry reports that itself.
    /// </summary>
    public static int CheckDirectory(string directory)
    {
        byte* result = stackalloc byte[StatxSize];
        // "DIR/." fails with ENOTDIR unless DIR is a directory, and with EACCES unless it can be searched.
        string self = directory.Length == 0 ? "." : Path.Join(directory, ".");
        return Statx(CurrentDirectory, self, 0, WantType, result) != 0 ? Errno.Last : 0;
    }
}
