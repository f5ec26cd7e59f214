using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// "ferryd stop", "ferryd status" and "ferryd reload": act on the ferryd that holds the lock of
/// the given pid file (<see cref="PidFile"/>). No lock holder, no ferryd, whatever pid the file names.
/// </summary>
internal static class DaemonControl
{
    public static async Task<int> StopAsync(string path, string timeoutText, TextWriter stdout)
    {
        if (!double.TryParse(timeoutText, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || seconds is not (>= 0 and <= MaxStopTimeout))
            throw new UsageException($"--timeout '{timeoutText}' is not a number of seconds from 0 to {MaxStopTimeout}");
        if (!PidFile.IsLocked(path))
        {
            // LSB: stopping a stopped service succeeds.
            stdout.WriteLine($"ferryd is not running {WhyNotRunning(path)}");
            return ExitCodes.Ok;
        }
        int pid = RunningPid(path);

        ProcessCalls.Kill(pid, SignalNumber.Terminate);
        if (await WaitForExitAsync(pid, TimeSpan.FromSeconds(seconds)))
        {
            stdout.WriteLine($"ferryd (pid {pid}) stopped");
            return ExitCodes.Ok;
        }
        ProcessCalls.Kill(pid, SignalNumber.Kill);
        await WaitForExitAsync(pid, KillGrace);
        // A killed daemon cannot remove its own files.
        PidFile.RemoveLeftBy(pid, path, StatusSocket.PathFor(path));
        stdout.WriteLine($"ferryd (pid {pid}) did not stop within {seconds} s; killed it with SIGKILL");
        return ExitCodes.Ok;
    }

    public static async Task<int> StatusAsync(string path, bool json, bool connections, TextWriter stdout)
    {
        if (!PidFile.IsLocked(path))
        {
            stdout.WriteLine(json ? """{"running":false}""" : $"ferryd is not running {WhyNotRunning(path)}");
            return ExitCodes.NotRunning;
        }
        int pid = RunningPid(path);

        string? document = await QueryAsync(StatusSocket.PathFor(path), connections ? StatusSocket.ConnectionsRequest : StatusSocket.StatusRequest);
        if (json)
        {
            stdout.WriteLine(document ?? $$"""{"running":true,"pid":{{pid}}}""");
            return ExitCodes.Ok;
        }
        if (document is null)
        {
            stdout.WriteLine($"ferryd is running (pid {pid}); its status socket did not answer");
            return ExitCodes.Ok;
        }
        using var status = JsonDocument.Parse(document);
        StatusTables.Write(status.RootElement, pid, stdout);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// SIGHUP, then wait for the daemon to report the outcome of that reload on its status
    /// socket: exit 0 when applied, 1 (with the reason) when the new configuration was rejected.
    /// </summary>
    public static async Task<int> ReloadAsync(string path, TextWriter stdout, TextWriter stderr)
    {
        if (!PidFile.IsLocked(path))
        {
            stderr.WriteLine($"ferryd: not running {WhyNotRunning(path)}");
            return ExitCodes.NotRunning;
        }
        int pid = RunningPid(path);
        string socket = StatusSocket.PathFor(path);
        int before = ReloadGeneration(await QueryAsync(socket))?.Generation ?? 0;

        ProcessCalls.Kill(pid, SignalNumber.Hangup);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100);
            if (ReloadGeneration(await QueryAsync(socket)) is { } outcome && outcome.Generation > before)
            {
                if (outcome.Succeeded)
                {
                    stdout.WriteLine($"ferryd (pid {pid}) {outcome.Message}");
                    return ExitCodes.Ok;
                }
                stderr.WriteLine($"ferryd: {outcome.Message}");
                return ExitCodes.Failure;
            }
        }
        stderr.WriteLine($"ferryd: sent SIGHUP to pid {pid}, but it reported no reload result within 60 s");
        return ExitCodes.Failure;
    }

    private static (int Generation, bool Succeeded, string Message)? ReloadGeneration(string? document)
    {
        if (document is null)
            return null;
        using var status = JsonDocument.Parse(document);
        if (!status.RootElement.TryGetProperty("reload", out var reload))
            return null;
        return (reload.GetProperty("generation").GetInt32(), reload.GetProperty("succeeded").GetBoolean(),
            reload.GetProperty("message").GetString() ?? "");
    }

    /// <summary>
    /// "(pid file PATH)"; "(stale pid file PATH, pid N)" when the file is there but its lock is
    /// free: its daemon died, and pid N, if it exists, is some other process.
    /// </summary>
    private static string WhyNotRunning(string path) => PidFile.ReadPid(path) is int pid
        ? $"(stale pid file {path}, pid {pid})"
        : $"(pid file {path})";

    /// <summary>The pid of the ferryd that holds the lock of <paramref name="path"/>; refuses to name any other process.</summary>
    private static int RunningPid(string path)
    {
        if (PidFile.ReadPid(path) is not int pid)
            throw new StartupException(ExitCodes.Failure, $"a process holds {PidFile.LockPathFor(path)} but {path} names no pid; is ferryd still starting?");
        RefuseIfNotFerryd(pid, path);
        return pid;
    }

    private static async Task<string?> QueryAsync(string socketPath, string request = StatusSocket.StatusRequest)
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), deadline.Token);
            try
            {
                await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(request + "\n"), SocketFlags.None, deadline.Token);
                // The request is complete: the daemon need not wait for more.
                socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // A daemon older than this command answers without reading a request: read on.
            }
            using var document = new MemoryStream();
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)) > 0)
                document.Write(buffer, 0, read);
            return System.Text.Encoding.UTF8.GetString(document.GetBuffer(), 0, (int)document.Length);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The pid file names the lock holder unless someone rewrote it: never signal a stranger.</summary>
    private static void RefuseIfNotFerryd(int pid, string path)
    {
        string commandLine;
        try
        {
            commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return;
        }
        if (!commandLine.Contains("ferryd", StringComparison.Ordinal))
            throw new StartupException(ExitCodes.Failure, $"pid {pid} in {path} is not ferryd ({commandLine.Trim()}); not signalling it");
    }

    /// <summary>A day: beyond any sensible wait, and far inside what a TimeSpan holds.</summary>
    private const int MaxStopTimeout = 86_400;

    /// <summary>How long a SIGKILLed process may take to die; the kernel needs milliseconds.</summary>
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan ExitPoll = TimeSpan.FromMilliseconds(20);

    /// <summary>True once <paramref name="pid"/> has exited (a zombie counts: it holds no port, file or lock).</summary>
    private static async Task<bool> WaitForExitAsync(int pid, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (ProcessCalls.Runs(pid))
        {
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
                return false;
            await Task.Delay(left < ExitPoll ? left : ExitPoll);
        }
        return true;
    }
}
