using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Platform.Linux;

/// <summary>
/// File descriptors as such: open with exact flags (O_APPEND, close-on-exec), write at the
/// descriptor's own position, fsync, flock, poll, dup. For what .NET's streams cannot say or do:
/// report the errno, append with O_APPEND, lock without the runtime's own advisory locks.
/// </summary>
public static unsafe partial class DescriptorCalls
{
    public const int ReadOnly = 0;               // O_RDONLY
    public const int WriteOnly = 1;              // O_WRONLY
    public const int ReadWrite = 2;              // O_RDWR
    public const int Create = 0x40;              // O_CREAT
    public const int Append = 0x400;             // O_APPEND
    public const int CloseOnExec = 0x80000;      // O_CLOEXEC
    public const int UserReadWriteOthersRead = 0b110_100_100; // 0644

    public const short PollIn = 0x001;           // POLLIN
    public const short PollOut = 0x004;          // POLLOUT

    private const int LockShared = 1;            // LOCK_SH
    private const int LockExclusive = 2;         // LOCK_EX
    private const int LockNonBlocking = 4;       // LOCK_NB
    private const int SetDescriptorFlags = 2;    // F_SETFD
    private const int GetStatusFlags = 3;        // F_GETFL
    private const int SetStatusFlags = 4;        // F_SETFL
    private const int NonBlocking = 0x800;       // O_NONBLOCK
    private const int DescriptorCloseOnExec = 1; // FD_CLOEXEC

    [LibraryImport(Libc.Name, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport(Libc.Name, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int descriptor);

    [LibraryImport(Libc.Name, EntryPoint = "dup", SetLastError = true)]
    public static partial int Duplicate(int descriptor);

    [LibraryImport(Libc.Name, EntryPoint = "dup2", SetLastError = true)]
    public static partial int DuplicateTo(int descriptor, int target);

    [LibraryImport(Libc.Name, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int descriptor, byte* buffer, nint count);

    [LibraryImport(Libc.Name, EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(SafeFileHandle file, byte* buffer, nint count);

    [LibraryImport(Libc.Name, EntryPoint = "fsync", SetLastError = true)]
    private static partial int Sync(SafeFileHandle file);

    [LibraryImport(Libc.Name, EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(SafeFileHandle file, int operation);

    [LibraryImport(Libc.Name, EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Control(int descriptor, int command, int argument);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollDescriptor
    {
        public int Descriptor;
        public short Events;
        public short ReturnedEvents;
    }

    [LibraryImport(Libc.Name, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(ref PollDescriptor descriptors, nuint count, int timeoutMilliseconds);

    /// <summary>Opens <paramref name="path"/> with exactly <paramref name="flags"/>; null and the errno if it cannot.</summary>
    public static SafeFileHandle? OpenFile(string path, int flags, out int errno, int mode = UserReadWriteOthersRead)
    {
        int descriptor = Open(path, flags, mode);
        errno = descriptor < 0 ? Errno.Last : 0;
        return descriptor < 0 ? null : new SafeFileHandle(descriptor, ownsHandle: true);
    }

    /// <summary>
    /// Writes all of <paramref name="bytes"/> with write(2) (at the descriptor's own position, or
    /// at the end for O_APPEND), retrying on EINTR; returns 0, or the errno that stopped it and how
    /// much had been written before.
    /// </summary>
    public static int WriteAll(SafeFileHandle file, ReadOnlySpan<byte> bytes, out long written)
    {
        written = 0;
        fixed (byte* start = bytes)
        {
            while (written < bytes.Length)
            {
                nint n = Write(file, start + written, bytes.Length - (nint)written);
                if (n >= 0)
                {
                    written += n;
                    continue;
                }
                int errno = Errno.Last;
                if (errno != Errno.Interrupted)
                    return errno;
            }
        }
        return 0;
    }

    /// <summary>fsync(2): 0, or the errno.</summary>
    public static int SyncFile(SafeFileHandle file) => Sync(file) == 0 ? 0 : Errno.Last;

    /// <summary>
    /// flock(2) without waiting: 0 when taken, else the errno (EWOULDBLOCK: another open file
    /// holds a conflicting lock). Released when <paramref name="file"/> is closed.
    /// </summary>
    public static int TryLock(SafeFileHandle file, bool exclusive)
    {
        while (true)
        {
            if (Flock(file, (exclusive ? LockExclusive : LockShared) | LockNonBlocking) == 0)
                return 0;
            int errno = Errno.Last;
            if (errno != Errno.Interrupted)
                return errno;
        }
    }

    private const int ExecuteAccess = 1;         // X_OK

    [LibraryImport(Libc.Name, EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Access(string path, int mode);

    /// <summary>Whether this process may execute <paramref name="path"/>, by access(2); errno when not.</summary>
    public static bool MayExecute(string path, out int errno)
    {
        bool may = Access(path, ExecuteAccess) == 0;
        errno = may ? 0 : Errno.Last;
        return may;
    }

    /// <summary>Makes reads and writes on the descriptor fail with EAGAIN instead of waiting; false with errno set if it could not.</summary>
    public static bool SetNonBlocking(int descriptor)
    {
        int flags = Control(descriptor, GetStatusFlags, 0);
        return flags >= 0 && Control(descriptor, SetStatusFlags, flags | NonBlocking) == 0;
    }

    /// <summary>Marks an inherited descriptor close-on-exec, so no child process inherits it.</summary>
    public static void SetCloseOnExec(int descriptor) => _ = Control(descriptor, SetDescriptorFlags, DescriptorCloseOnExec);
}
