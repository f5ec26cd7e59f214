using System.Diagnostics;
using Ferry.Daemon.Logging;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// "ferryd start". .NET cannot fork, so the parent re-executes ferryd with the same
/// arguments as a child marked by <see cref="ChildMarker"/>. The child leaves the parent's
/// session (setsid), moves to "/", takes the pid file, binds every listener, prints its
/// "listening" lines, points fds 0-2 at /dev/null, and only then writes a final "ready" on
/// the pipe the parent reads. The parent exits 0 only after "ready"; if the child dies first, the parent
/// prints the child's error and exits with the child's exit code.
/// </summary>
internal static class Daemonizer
{
    public const string ChildMarker = "FERRYD_DAEMON_CHILD";
    private const string ReadyLine = "ready";
    private static readonly TimeSpan StartupDeadline = TimeSpan.FromSeconds(60);

    public static Task<int> StartAsync(ServerSettings settings, TextWriter stdout, TextWriter stderr) =>
        Environment.GetEnvironmentVariable(ChildMarker) == "1"
            ? RunAsChildAsync(settings, stdout)
            : RunAsParentAsync(stdout, stderr);

    private static async Task<int> RunAsParentAsync(TextWriter stdout, TextWriter stderr)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in Environment.GetCommandLineArgs().Skip(1))
            info.ArgumentList.Add(arg);
        info.Environment[ChildMarker] = "1";

        using var child = Process.Start(info) ?? throw new StartupException(ExitCodes.Failure, "cannot start the daemon process");
        var errors = child.StandardError.ReadToEndAsync();
        var listening = new List<string>();
        using var deadline = new CancellationTokenSource(StartupDeadline);
        try
        {
            while (await child.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
            {
                if (line == ReadyLine)
                {
                    foreach (string bound in listening)
                        stdout.WriteLine(bound);
                    return ExitCodes.Ok;
                }
                listening.Add(line);
            }
        }
        catch (OperationCanceledException)
        {
            child.Kill();
            stderr.WriteLine($"ferryd: the daemon did not become ready within {StartupDeadline.TotalSeconds} s; stopped it");
            return ExitCodes.Failure;
        }

        // The child closed its stdout without "ready": it failed and says why on stderr.
        await child.WaitForExitAsync(CancellationToken.None);
        string message = (await errors).Trim();
        stderr.WriteLine(message.Length > 0 ? message : $"ferryd: the daemon exited with code {child.ExitCode} before it was ready");
        return child.ExitCode == 0 ? ExitCodes.Failure : child.ExitCode;
    }

    private static async Task<int> RunAsChildAsync(ServerSettings settings, TextWriter stdout)
    {
        if (ProcessCalls.SetSession() < 0)
            throw new StartupException(ExitCodes.Failure, "setsid failed: cannot detach from the terminal's session");
        // Every path in settings is absolute by now; "/" keeps the daemon off any mount it was started in.
        Directory.SetCurrentDirectory("/");

        if (settings.Logging.Target == LogTargetKind.Console)
            settings = settings with { Logging = settings.Logging with { Target = LogTargetKind.File, Path = DefaultLogFile() } };

        return await ServerHost.RunAsync(settings, stdout, new DaemonRole(() =>
        {
            stdout.Flush();
            Native.DetachThenTell(System.Text.Encoding.ASCII.GetBytes(ReadyLine + "\n"));
        }));
    }

    /// <summary>A daemon has no terminal: without --log-file/--log-dir it logs to a file.</summary>
    public static string DefaultLogFile()
    {
        if (Environment.UserName == "root")
            return "/var/log/ferryd/ferryd.log";
        string? state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        string baseDirectory = !string.IsNullOrEmpty(state)
            ? state
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        return Path.Combine(baseDirectory, "ferryd", "ferryd.log");
    }
}
