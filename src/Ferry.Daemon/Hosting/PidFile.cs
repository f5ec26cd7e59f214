using System.Globalization;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// The daemon's pid file, plus a lock held for the daemon's life. The lock lives in a
/// separate "PATH.lock" file: .NET takes an advisory flock on files it opens, so locking
/// the pid file itself would stop other .NET processes (ferryd stop/status) from reading it.
/// A pid file whose lock nobody holds is stale (its process died) and is taken over.
/// </summary>
internal sealed class PidFile : IDisposable
{
    private readonly FileStream _lock;

    private PidFile(string path, FileStream lockStream)
    {
        Path = path;
        _lock = lockStream;
    }

    public string Path { get; }

    public static string DefaultPath()
    {
        if (Environment.UserName == "root")
            return "/run/ferryd.pid";
        string? runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(runtime) && Directory.Exists(runtime)
            ? System.IO.Path.Combine(runtime, "ferryd.pid")
            : $"/tmp/ferryd-{Environment.UserName}.pid";
    }

    /// <summary>Takes the lock and writes our pid; refuses while another ferryd holds it.</summary>
    public static PidFile Acquire(string path)
    {
        FileStream lockStream;
        try
        {
            string? directory = System.IO.Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(directory))
                Directory.CreateDirectory(directory);
            lockStream = new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException)
        {
            throw new StartupException(ExitCodes.Failure, $"cannot write pid file {path}: permission denied");
        }
        catch (IOException) when (TryRead(path) is int running)
        {
            throw new StartupException(ExitCodes.AlreadyRunning, $"already running (pid {running}, pid file {path})");
        }
        catch (IOException ex)
        {
            throw new StartupException(ExitCodes.Failure, $"cannot lock pid file {path}: {ex.Message}");
        }

        // Atomic: a reader sees the old file or the whole new one, never a half-written pid.
        string temporary = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        File.Move(temporary, path, overwrite: true);
        return new PidFile(path, lockStream);
    }

    /// <summary>The pid in the file if it names a live process, else null.</summary>
    public static int? TryRead(string path)
    {
        try
        {
            string text = File.ReadAllText(path).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0 && Native.ProcessExists(pid)
                ? pid
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        // Remove only our own pid file: a stop that timed out may have let a new daemon in.
        if (TryRead(Path) == Environment.ProcessId)
            File.Delete(Path);
        File.Delete(Path + ".lock");
        _lock.Dispose();
    }
}
