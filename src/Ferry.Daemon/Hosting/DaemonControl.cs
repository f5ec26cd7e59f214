using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;

namespace Ferry.Daemon.Hosting;

/// <summary>"ferryd stop" and "ferryd status": act on the daemon named by the pid file.</summary>
internal static class DaemonControl
{
    public static async Task<int> StopAsync(string? pidFileOption, string timeoutText, TextWriter stdout)
    {
        if (!double.TryParse(timeoutText, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || seconds < 0 || double.IsNaN(seconds))
            throw new UsageException($"--timeout '{timeoutText}' is not a number of seconds");
        string path = PidFilePath(pidFileOption);
        if (PidFile.TryRead(path) is not int pid)
        {
            // LSB: stopping a stopped service succeeds.
            stdout.WriteLine($"ferryd is not running (pid file {path})");
            return ExitCodes.Ok;
        }
        RefuseIfNotFerryd(pid, path);

        Native.Kill(pid, Native.SigTerm);
        if (await WaitForExitAsync(pid, TimeSpan.FromSeconds(seconds)))
        {
            stdout.WriteLine($"ferryd (pid {pid}) stopped");
            return ExitCodes.Ok;
        }
        Native.Kill(pid, Native.SigKill);
        await WaitForExitAsync(pid, TimeSpan.FromSeconds(5));
        // A killed daemon cannot remove its own files.
        if (File.Exists(path) && File.ReadAllText(path).Trim() == pid.ToString(CultureInfo.InvariantCulture))
            File.Delete(path);
        File.Delete(StatusSocket.PathFor(path));
        stdout.WriteLine($"ferryd (pid {pid}) did not stop within {seconds} s; killed it with SIGKILL");
        return ExitCodes.Ok;
    }

    public static async Task<int> StatusAsync(string? pidFileOption, bool json, TextWriter stdout)
    {
        string path = PidFilePath(pidFileOption);
        if (PidFile.TryRead(path) is not int pid)
        {
            stdout.WriteLine(json ? """{"running":false}""" : $"ferryd is not running (pid file {path})");
            return ExitCodes.NotRunning;
        }

        string? document = await QueryAsync(StatusSocket.PathFor(path));
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
        var root = status.RootElement;
        var uptime = TimeSpan.FromSeconds(root.GetProperty("uptimeSeconds").GetInt64());
        stdout.WriteLine($"ferryd is running (pid {pid}, up {FormatUptime(uptime)})");
        foreach (var listener in root.GetProperty("listeners").EnumerateArray())
        {
            string name = listener.TryGetProperty("name", out var n) ? n.GetString() + " " : "";
            stdout.WriteLine($"  {name}{listener.GetProperty("service").GetString()} {listener.GetProperty("endpoint").GetString()}: "
                + $"{listener.GetProperty("open").GetInt64()} open, {listener.GetProperty("accepted").GetInt64()} accepted"
                + Refusals(listener));
        }
        return ExitCodes.Ok;
    }

    /// <summary>
    /// SIGHUP, then wait for the daemon to report the outcome of that reload on its status
    /// socket: exit 0 when applied, 1 (with the reason) when the new configuration was rejected.
    /// </summary>
    public static async Task<int> ReloadAsync(string? pidFileOption, TextWriter stdout, TextWriter stderr)
    {
        string path = PidFilePath(pidFileOption);
        if (PidFile.TryRead(path) is not int pid)
        {
            stderr.WriteLine($"ferryd: not running (pid file {path})");
            return ExitCodes.NotRunning;
        }
        RefuseIfNotFerryd(pid, path);
        string socket = StatusSocket.PathFor(path);
        int before = ReloadGeneration(await QueryAsync(socket))?.Generation ?? 0;

        Native.Kill(pid, Native.SigHup);
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

    /// <summary>", 12 refused (maxConnectionsPerIp 10, connectionRate 2)"; nothing if none.</summary>
    private static string Refusals(JsonElement listener)
    {
        if (!listener.TryGetProperty("refused", out var refused))
            return "";
        string text = $", {refused.GetInt64()} refused";
        if (listener.TryGetProperty("refusedBy", out var reasons) && reasons.EnumerateObject().Any())
            text += " (" + string.Join(", ", reasons.EnumerateObject().Select(r => $"{r.Name} {r.Value.GetInt64()}")) + ")";
        return text;
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

    /// <summary>The pid file named by --pid-file, or the one "ferryd start" uses by default.</summary>
    private static string PidFilePath(string? option) => option is null ? PidFile.DefaultPath() : Path.GetFullPath(option);

    private static string FormatUptime(TimeSpan uptime) =>
        uptime.TotalDays >= 1 ? $"{(int)uptime.TotalDays}d {uptime:hh\\:mm\\:ss}" : uptime.ToString("hh\\:mm\\:ss", CultureInfo.InvariantCulture);

    private static async Task<string?> QueryAsync(string socketPath)
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), deadline.Token);
            using var stream = new NetworkStream(socket);
            using var reader = new StreamReader(stream);
            return await reader.ReadToEndAsync(deadline.Token);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>A pid file can outlive its daemon and its pid be reused; never signal a stranger.</summary>
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

    private static async Task<bool> WaitForExitAsync(int pid, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (Native.ProcessExists(pid))
        {
            if (clock.Elapsed >= timeout)
                return false;
            await Task.Delay(50);
        }
        return true;
    }
}
