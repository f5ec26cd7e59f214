using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Logging;
using Ferry.Daemon.Services;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// ferryd's command line, parsed by System.CommandLine. A user's mistake gets one line
/// naming it, the usage line, and exit code 2; never the parser's wall of help.
/// </summary>
internal sealed class CommandLine
{
    public const string UsageLine = "Usage: ferryd PORT | ferryd --listen [ADDR:]PORT[=SERVICE] ... [options]";

    private readonly Argument<string?> _port = new("PORT")
    {
        Description = "Serve echo on this port on every interface, IPv4 and IPv6 (the seed's 'server local_port').",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private readonly Option<string[]> _listen = new("--listen", "-l")
    {
        Description = "A listener [ADDR:]PORT[=SERVICE]; repeat for more. ADDR: IPv4, [IPv6] or host name; "
            + "port 0 picks a free port; SERVICE: " + string.Join(", ", ServiceCatalog.Names) + " (default echo).",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string> _logLevel = new("--log-level")
    {
        Description = "Lowest level logged: " + string.Join(", ", LogLevelNames.All) + ".",
        DefaultValueFactory = _ => "info",
    };

    private readonly Option<string?> _logFile = new("--log-file")
    {
        Description = "Log to this one file instead of the console (stderr).",
    };

    private readonly Option<string?> _logDir = new("--log-dir")
    {
        Description = "Log to one file per level in this directory: ferryd.debug.log, ferryd.info.log, ... ferryd.fatal.log.",
    };

    private readonly Option<string> _shutdownTimeout = new("--shutdown-timeout")
    {
        Description = "Seconds that open connections get to finish on SIGTERM/SIGINT before they are closed.",
        DefaultValueFactory = _ => "5",
    };

    public RootCommand Build() =>
        new("ferryd: a TCP service daemon serving echo, discard, daytime and chargen.")
        {
            _port, _listen, _logLevel, _logFile, _logDir, _shutdownTimeout,
        };

    /// <summary>Parses and runs; returns the process exit code.</summary>
    public async Task<int> InvokeAsync(string[] args, Func<ServerSettings, Task<int>> run, TextWriter stderr)
    {
        var result = Build().Parse(args);
        if (result.Errors.Count > 0 && result.Action is not HelpAction)
            return Usage(stderr, result.Errors[0].Message);
        // The root has no action of its own: an action here is --help or --version.
        if (result.Action is not null)
            return await result.InvokeAsync();

        ServerSettings settings;
        try
        {
            settings = ToSettings(result);
        }
        catch (UsageException ex)
        {
            return Usage(stderr, ex.Message);
        }
        try
        {
            return await run(settings);
        }
        catch (ServiceOptionException ex)
        {
            return Usage(stderr, ex.Message);
        }
    }

    private static int Usage(TextWriter stderr, string problem)
    {
        stderr.WriteLine($"ferryd: {problem}");
        stderr.WriteLine(UsageLine);
        stderr.WriteLine("Try 'ferryd --help' for more.");
        return ExitCodes.Usage;
    }

    private ServerSettings ToSettings(ParseResult result)
    {
        var listeners = new List<ListenerSpec>();
        string? port = result.GetValue(_port);
        if (port is not null && port.StartsWith('-'))
            throw new UsageException($"unknown option '{port}'");
        if (port is not null)
        {
            if (!ListenerSpec.TryParsePort(port, out int number))
                throw new UsageException($"PORT '{port}' is not a number from 0 to 65535");
            listeners.Add(new ListenerSpec(null, number, ListenerSpec.DefaultService));
        }
        foreach (string text in result.GetValue(_listen) ?? [])
        {
            if (!ListenerSpec.TryParse(text, out var spec, out string error))
                throw new UsageException(error);
            listeners.Add(spec!);
        }
        if (listeners.Count == 0)
            throw new UsageException("nothing to serve: give a PORT or at least one --listen");

        string levelText = result.GetValue(_logLevel)!;
        if (!LogLevelNames.TryParse(levelText, out var level))
            throw new UsageException($"unknown log level '{levelText}' (use {string.Join(", ", LogLevelNames.All)})");

        string? logFile = result.GetValue(_logFile);
        string? logDir = result.GetValue(_logDir);
        var logging = (logFile, logDir) switch
        {
            (not null, not null) => throw new UsageException("--log-file and --log-dir exclude each other"),
            (not null, null) => new LogSettings(level, LogTargetKind.File, Path.GetFullPath(logFile)),
            (null, not null) => new LogSettings(level, LogTargetKind.FilePerLevel, Path.GetFullPath(logDir)),
            _ => LogSettings.ConsoleAt(level),
        };

        string timeoutText = result.GetValue(_shutdownTimeout)!;
        if (!double.TryParse(timeoutText, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
            || seconds < 0 || seconds > 3600 || double.IsNaN(seconds))
            throw new UsageException($"--shutdown-timeout '{timeoutText}' is not a number of seconds from 0 to 3600");

        return new ServerSettings(listeners, logging, TimeSpan.FromSeconds(seconds));
    }
}

/// <summary>A command-line value that parsed but makes no sense; reported with the usage line.</summary>
internal sealed class UsageException(string message) : Exception(message);
