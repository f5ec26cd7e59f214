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

    /// <summary>The logger and, for file targets, the sink that SIGUSR1 reopens.</summary>
    public sealed class Output(Serilog.Core.Logger logger, ReopenableSink? files) : IDisposable
    {
        public Serilog.Core.Logger Logger { get; } = logger;

        /// <summary>True when there are files to reopen (not for the console).</summary>
        public bool HasFiles => files is not null;

        public void ReopenFiles() => files?.Reopen();

        public void Dispose()
        {
            Logger.Dispose();
            files?.Dispose();
        }
    }

    public static Output Create(LogSettings settings)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(LogLevelNames.ToSerilog(settings.MinimumLevel))
            // Framework chatter (hosting, at Debug and Info) would drown ours; keep its warnings.
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Warning);

        ReopenableSink? files = null;
        switch (settings.Target)
        {
            case LogTargetKind.File:
                EnsureWritableFile(settings.Path!);
                files = new ReopenableSink(() => new LoggerConfiguration().MinimumLevel.Verbose()
                    .WriteTo.File(settings.Path!, outputTemplate: LineTemplate).CreateLogger());
                break;
            case LogTargetKind.FilePerLevel:
                string directory = settings.Path!;
                EnsureWritableDirectory(directory);
                files = new ReopenableSink(() => new LoggerConfiguration().MinimumLevel.Verbose()
                    .WriteTo.Map(
                        e => LogLevelNames.FileName(e.Level),
                        (name, sink) => sink.File(Path.Combine(directory, $"ferryd.{name}.log"), outputTemplate: LineTemplate),
                        sinkMapCountLimit: LogLevelNames.All.Length)
                    .CreateLogger());
                break;
            default:
                // stderr: stdout carries only the "listening ..." lines that scripts parse.
                configuration.WriteTo.Console(outputTemplate: LineTemplate, standardErrorFromLevel: LogEventLevel.Verbose);
                break;
        }
        if (files is not null)
            configuration.WriteTo.Sink(files);
        return new Output(configuration.CreateLogger(), files);
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
