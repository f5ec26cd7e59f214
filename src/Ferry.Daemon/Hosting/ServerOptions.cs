using System.CommandLine;
using Ferry.Daemon.Logging;
using Ferry.Daemon.Services;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// The options that describe a server (listeners, logging, shutdown, pid file, config file),
/// shared by the foreground run, "start" and "check-config". One instance per command,
/// because a System.CommandLine symbol belongs to one command.
/// </summary>
internal sealed class ServerOptions
{
    private readonly Option<string?> _config = new("--config", "-c")
    {
        Description = "Read settings from this JSON file (see docs/configuration.md); FERRY_* variables and options override it.",
    };

    private readonly Option<string[]> _listen = new("--listen", "-l")
    {
        Description = "A listener [ADDR:]PORT[=SERVICE[,KEY=VALUE...]]; repeat for more. ADDR: IPv4, [IPv6] or host name; "
            + "port 0 picks a free port; SERVICE: " + string.Join(", ", ServiceCatalog.Names) + " (default echo). "
            + "udp:[ADDR:]PORT for UDP (" + string.Join(", ", ServiceCatalog.DatagramNames) + "), unix:PATH or unix:@NAME for a Unix-domain socket. "
            + "Replaces the config file's listeners.",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string?> _logLevel = new("--log-level")
    {
        Description = "Lowest level logged: " + string.Join(", ", LogLevelNames.All) + " (default info).",
        CompletionSources = { LogLevelNames.All },
    };

    private readonly Option<string?> _logFile = new("--log-file")
    {
        Description = "Log to this one file instead of the console (stderr).",
    };

    private readonly Option<string?> _logDir = new("--log-dir")
    {
        Description = "Log to one file per level in this directory: ferryd.debug.log, ferryd.info.log, ... ferryd.fatal.log.",
    };

    private readonly Option<string?> _shutdownTimeout = new("--shutdown-timeout")
    {
        Description = "Seconds that open connections get to finish on SIGTERM/SIGINT before they are closed (default 5).",
    };

    private readonly Option<string?> _pidFile = PidFileOption();

    private readonly Option<string?> _metrics = new("--metrics")
    {
        Description = "Serve Prometheus metrics at http://[ADDR:]PORT/metrics (loopback when no ADDR; *:PORT for every interface; default off).",
    };

    public static Option<string?> PidFileOption() => new("--pid-file")
    {
        Description = "The pid file (default $RUNTIME_DIRECTORY/ferryd.pid under systemd, /run/ferryd/ferryd.pid for root, else $XDG_RUNTIME_DIR/ferryd.pid or /tmp/ferryd-USER.pid).",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_config);
        command.Options.Add(_listen);
        command.Options.Add(_logLevel);
        command.Options.Add(_logFile);
        command.Options.Add(_logDir);
        command.Options.Add(_shutdownTimeout);
        command.Options.Add(_pidFile);
        command.Options.Add(_metrics);
    }

    /// <summary>What was typed, for <see cref="SettingsLoader"/>, which merges and checks everything in one step.</summary>
    public ServerSettings ToSettings(ParseResult result, string? port = null) =>
        SettingsLoader.Load(new SettingsLoader.CommandLineValues(
            result.GetValue(_config),
            port,
            result.GetValue(_listen) ?? [],
            result.GetValue(_logLevel),
            result.GetValue(_logFile),
            result.GetValue(_logDir),
            result.GetValue(_shutdownTimeout),
            result.GetValue(_pidFile),
            result.GetValue(_metrics)));
}
