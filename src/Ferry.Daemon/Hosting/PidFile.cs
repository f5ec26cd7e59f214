using System.Globalization;
using Ferry.Daemon.Transport;
using Microsoft.Win32.SafeHandles;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// The pid file of a running ferryd, plus an exclusive flock on "PATH.lock" held for the
/// process's whole life. The lock, not the pid, says whether ferryd runs: a pid file outlives
/// a killed daemon and its pid may be reused by any process, while the kernel drops the lock
/// the moment its holder dies. The lock lives in a separate file because .NET takes an
/// advisory flock of its own on files it opens, which would stop other .NET processes
/// (ferryd stop/status) from reading a locked pid file; it is taken with flock(2) directly so
/// that it never depends on that .NET behaviour (which DOTNET_SYSTEM_IO_DISABLEFILELOCKING
/// turns off).
/// </summary>
internal sealed class PidFile : IDisposable
{
    private const string FileName = "ferryd.pid";

    /// <summary>A status probe or a stop's clean-up holds the lock for an instant: try this often before giving up.</summary>
    private const int LockAttempts = 5;

    private readonly SafeFileHandle _lock;

    private PidFile(string path, SafeFileHandle held)
    {
        Path = path;
        _lock = held;
    }

    public string Path { get; }

    /// <summary>
    /// systemd's RuntimeDirectory= when set (the shipped unit's /run/ferryd: the one place in /run
    /// its DynamicUser= may write); else /run/ferryd/ferryd.pid for root, so that the unit, a root
    /// "ferryd start" and a root "ferryd status" all agree; else the user's runtime directory or /tmp.
    /// </summary>
    public static string DefaultPath()
    {
        string? systemd = Environment.GetEnvironmentVariable("RUNTIME_DIRECTORY")?.Split(':')[0];
        if (!string.IsNullOrEmpty(systemd))
            return System.IO.Path.Combine(systemd, FileName);
        if (Environment.UserName == "root")
            return "/run/ferryd/" + FileName;
        string? runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(runtime) && Directory.Exists(runtime)
            ? System.IO.Path.Combine(runtime, FileName)
            : $"/tmp/ferryd-{Environment.UserName}.pid";
    }

    public static string LockPathFor(string path) => path + ".lock";

    /// <summary>
    /// The pid file this run holds, if any: always for the detached daemon; in the foreground
    /// when one is configured (--pid-file, PidFile, FERRY_PidFile) and always under systemd
    /// (NOTIFY_SOCKET set), so that "ferryd status|reload" and logrotate find it there too.
    /// </summary>
    public static PidFile? AcquireFor(ServerSettings settings, bool detached)
    {
        string? path = settings.PidFile ?? (detached || SystemdNotifier.IsPresent ? DefaultPath() : null);
        return path is null ? null : Acquire(path);
    }

    /// <summary>Takes the lock and writes our pid; refuses while another ferryd holds it.</summary>
    public static PidFile Acquire(string path)
    {
        try
        {
            string? directory = System.IO.Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(directory))
                Directory.CreateDirectory(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CannotCreate(path, ErrnoOf(ex));
        }

        var held = TakeLock(LockPathFor(path), create: true, out int errno);
        if (held is null && errno == Errno.WouldBlock)
        {
            throw new StartupException(ExitCodes.AlreadyRunning, ReadPid(path) is int running
                ? $"already running (pid {running}, pid file {path})"
                : $"already running (pid file {path})");
        }
        if (held is null)
            throw CannotCreate(path, errno);

        // Atomic: a reader sees the old file or the whole new one, never a half-written pid.
        string temporary = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            File.WriteAllText(temporary, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            File.Delete(temporary);
            File.Delete(LockPathFor(path));
            held.Dispose();
            throw CannotCreate(path, ErrnoOf(ex));
        }
        return new PidFile(path, held);
    }

    /// <summary>
    /// True while a process holds the lock of this pid file: the one sign that a ferryd runs.
    /// Probes with a shared lock, released at once. Throws when it cannot tell (permission denied).
    /// </summary>
    public static bool IsLocked(string path)
    {
        string lockPath = LockPathFor(path);
        using var file = DescriptorCalls.OpenFile(lockPath, DescriptorCalls.ReadOnly | DescriptorCalls.CloseOnExec, out int errno);
        if (file is null && errno is Errno.NoSuchFile or Errno.NotADirectory)
            return false;
        if (file is null)
            throw new StartupException(ExitCodes.Failure, $"cannot tell whether ferryd is running: cannot open {lockPath}: {Errno.Describe(errno)}");
        int error = DescriptorCalls.TryLock(file, exclusive: false);
        if (error is not (0 or Errno.WouldBlock))
            throw new StartupException(ExitCodes.Failure, $"cannot tell whether ferryd is running: cannot lock {lockPath}: {Errno.Describe(error)}");
        return error == Errno.WouldBlock;
    }

    /// <summary>The pid written in the file, whether or not that process still runs; null if none.</summary>
    public static int? ReadPid(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0
                ? pid
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Removes what a daemon killed with SIGKILL could not: its pid file, lock file and
    /// <paramref name="companion"/> (the status socket). Only while no ferryd holds the lock (a
    /// new one may have started since), and the pid file only if it still names <paramref name="pid"/>.
    /// </summary>
    public static void RemoveLeftBy(int pid, string path, string companion)
    {
        string lockPath = LockPathFor(path);
        using var held = TakeLock(lockPath, create: false, out int errno);
        if (held is null && errno != Errno.NoSuchFile)
            return;
        if (ReadPid(path) == pid)
            File.Delete(path);
        File.Delete(companion);
        if (held is not null)
            File.Delete(lockPath);
    }

    /// <summary>
    /// An exclusive lock on <paramref name="lockPath"/>, or null with the errno (EWOULDBLOCK: held).
    /// A lock taken on a file its previous holder unlinked meanwhile (a daemon removes its lock
    /// file as it exits) would lock nothing anyone else sees, so it is taken again on the file
    /// now at the path.
    /// </summary>
    private static SafeFileHandle? TakeLock(string lockPath, bool create, out int errno)
    {
        errno = Errno.WouldBlock;
        for (int attempt = 1; attempt <= LockAttempts; attempt++)
        {
            var file = DescriptorCalls.OpenFile(lockPath, create ? DescriptorCalls.ReadWrite | DescriptorCalls.Create | DescriptorCalls.CloseOnExec : DescriptorCalls.ReadOnly | DescriptorCalls.CloseOnExec, out errno);
            if (file is null)
                return null;
            errno = DescriptorCalls.TryLock(file, exclusive: true);
            if (errno == 0 && !IsUnlinked(file))
                return file;
            file.Dispose();
            if (errno != 0 && errno != Errno.WouldBlock)
                return null;
            Thread.Sleep(20);
        }
        errno = Errno.WouldBlock;
        return null;
    }

    private static bool IsUnlinked(SafeFileHandle file) =>
        new FileInfo($"/proc/self/fd/{file.DangerousGetHandle()}").LinkTarget?.EndsWith(" (deleted)", StringComparison.Ordinal) == true;

    /// <summary>"cannot create pid file P: /x/y is not a directory" (or "read-only file system", "permission denied"...).</summary>
    private static StartupException CannotCreate(string path, int errno)
    {
        // A file in the way is the cause whatever the call reported (EEXIST from mkdir, ENOTDIR...).
        string cause = NonDirectoryAbove(path) is { } file
            ? $"{file} is not a directory"
            : Errno.Describe(errno);
        return new StartupException(ExitCodes.Failure, $"cannot create pid file {path}: {cause}");
    }

    /// <summary>The nearest existing ancestor of <paramref name="path"/> if it is not a directory.</summary>
    private static string? NonDirectoryAbove(string path)
    {
        for (string? parent = System.IO.Path.GetDirectoryName(path); !string.IsNullOrEmpty(parent); parent = System.IO.Path.GetDirectoryName(parent))
        {
            if (Directory.Exists(parent))
                return null;
            if (File.Exists(parent))
                return parent;
        }
        return null;
    }

    /// <summary>.NET reports a file error as an IOException whose HResult is the errno; access errors have their own type.</summary>
    private static int ErrnoOf(Exception ex) => ex switch
    {
        UnauthorizedAccessException => Errno.AccessDenied,
        IOException { HResult: > 0 and < 4096 } io => io.HResult,
        _ => Errno.Io,
    };

    public void Dispose()
    {
        // Only our own pid file: someone may have written another since, by hand.
        if (ReadPid(Path) == Environment.ProcessId)
            File.Delete(Path);
        // Removed while still held: TakeLock tells a lock on an unlinked file from a real one.
        File.Delete(LockPathFor(Path));
        _lock.Dispose();
    }
}
