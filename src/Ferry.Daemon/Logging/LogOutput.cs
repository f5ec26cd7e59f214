using Ferry.Daemon.Hosting;
using Ferry.Platform.Linux;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Logging;

/// <summary>
/// ferryd's loggers (Microsoft.Extensions.Logging) and where their lines go: stderr, one file,
/// or one file per level, each line "2026-12-03 09:30:17.123 +00:00 [INF] message".
/// </summary>
/// <remarks>
/// Lines are formatted to UTF-8 where they are logged, the connection lines with no string at
/// all (<see cref="ConnectionLines"/>), and <see cref="LogFile"/> writes them in batches
/// (bench/RESULTS.md, rounds 5 and 14: Serilog's structured event and a write per line, then
/// ZLogger's entries and templates, were most of the user-space CPU of a connection's two lines).
/// Disposing writes out what the files hold, so nothing is lost on TERM.
/// </remarks>
internal sealed class LogOutput : IDisposable
{
    private readonly LogFile[] _files;

    private LogOutput(ILoggerFactory loggers, LogFile[] files, bool hasFiles)
    {
        Loggers = loggers;
        _files = files;
        HasFiles = hasFiles;
    }

    public ILoggerFactory Loggers { get; }

    /// <summary>True when there are files to reopen (not for the console).</summary>
    public bool HasFiles { get; }

    /// <summary>SIGUSR1: every file continues at its path in a new file (logrotate moved the old one).</summary>
    public void ReopenFiles()
    {
        foreach (var file in _files)
            file.Reopen();
    }

    /// <summary>Opens the target's files (a startup error naming the path when it cannot) and builds the loggers.</summary>
    public static LogOutput Create(LogSettings settings)
    {
        LogFile[] byLevel;
        switch (settings.Target)
        {
            case LogTargetKind.File:
                var file = OpenFile(settings.Path!);
                byLevel = [.. LogLevelNames.All.Select(_ => file)];
                break;
            case LogTargetKind.FilePerLevel:
                string directory = settings.Path!;
                EnsureDirectory(directory);
                byLevel = [.. LogLevelNames.All.Select(name =>
                    LogFile.OpenAtFirstLine(System.IO.Path.Combine(directory, $"ferryd.{name}.log")))];
                break;
            default:
                // stderr: stdout carries only the "listening ..." lines that scripts parse.
                var standardError = LogFile.StandardError();
                byLevel = [.. LogLevelNames.All.Select(_ => standardError)];
                break;
        }
        var loggers = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(settings.MinimumLevel)
            // Framework chatter (hosting, at Debug and Info) would drown ours; keep its warnings.
            .AddFilter("Microsoft", LogLevel.Warning)
            .AddProvider(new LevelRouting(byLevel)));
        return new LogOutput(loggers, [.. byLevel.Distinct()], settings.Target != LogTargetKind.Console);
    }

    /// <summary>Writes out what the files hold; after this, nothing more is logged.</summary>
    public void Dispose()
    {
        Loggers.Dispose();
        foreach (var file in _files)
            file.Dispose();
    }

    private static LogFile OpenFile(string path)
    {
        try
        {
            string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            if (directory is not null)
                Directory.CreateDirectory(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupException(ExitCodes.CannotLog, $"cannot open log file {path}: {Describe(ex)}");
        }
        return LogFile.Open(path, out int errno)
            ?? throw new StartupException(ExitCodes.CannotLog, $"cannot open log file {path}: {Errno.Describe(errno)}");
    }

    /// <summary>The per-level files open at their first line: whether they can is tried now, with a probe file.</summary>
    private static void EnsureDirectory(string directory)
    {
        string probePath = System.IO.Path.Combine(directory, $".ferryd-probe-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(probePath, []);
            File.Delete(probePath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupException(ExitCodes.CannotLog, $"cannot write log directory {directory}: {Describe(ex)}");
        }
    }

    private static string Describe(Exception ex) => ex switch
    {
        UnauthorizedAccessException => "permission denied",
        DirectoryNotFoundException => "no such directory",
        _ => ex.Message,
    };
}
