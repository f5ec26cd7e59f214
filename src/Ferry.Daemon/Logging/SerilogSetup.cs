using Ferry.Daemon.Hosting;
using Serilog;
using Serilog.Events;

namespace Ferry.Daemon.Logging;

/// <summary>
/// Builds the Serilog logger behind Microsoft.Extensions.Logging for the chosen target.
/// Log files are opened once here first, so an unwritable path is a startup error with a
/// clear message instead of a sink that silently drops everything.
/// </summary>
internal static class SerilogSetup
{
    public const string LineTemplate = "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {Message:lj}{NewLine}{Exception}";

    public static Serilog.Core.Logger Create(LogSettings settings)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(LogLevelNames.ToSerilog(settings.MinimumLevel))
            // Kestrel's own chatter (connection ids at Debug) would drown ours; keep its warnings.
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Warning);

        switch (settings.Target)
        {
            case LogTargetKind.File:
                EnsureWritableFile(settings.Path!);
                configuration.WriteTo.File(settings.Path!, outputTemplate: LineTemplate);
                break;
            case LogTargetKind.FilePerLevel:
                string directory = settings.Path!;
                EnsureWritableDirectory(directory);
                configuration.WriteTo.Map(
                    e => LogLevelNames.FileName(e.Level),
                    (name, sink) => sink.File(Path.Combine(directory, $"ferryd.{name}.log"), outputTemplate: LineTemplate),
                    sinkMapCountLimit: LogLevelNames.All.Length);
                break;
            default:
                // stderr: stdout carries only the "listening ..." lines that scripts parse.
                configuration.WriteTo.Console(outputTemplate: LineTemplate, standardErrorFromLevel: LogEventLevel.Verbose);
                break;
        }
        return configuration.CreateLogger();
    }

    private static void EnsureWritableFile(string path)
    {
        try
        {
            string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null)
                Directory.CreateDirectory(directory);
            using var probe = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupException(ExitCodes.CannotLog, $"cannot open log file {path}: {Describe(ex)}");
        }
    }

    private static void EnsureWritableDirectory(string directory)
    {
        string probePath = Path.Combine(directory, $".ferryd-probe-{Environment.ProcessId}");
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
