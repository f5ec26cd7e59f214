using System.CommandLine;
using System.CommandLine.Help;
using Ferry.Completion;
using Ferry.Daemon.Services;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// ferryd's command line, parsed by System.CommandLine: the foreground run and the daemon
/// commands. A user's mistake gets one line naming it, the usage line, and exit code 2;
/// never the parser's wall of help.
/// </summary>
internal sealed class CommandLine(TextWriter stdout, TextWriter stderr)
{
    public const string UsageLine = "Usage: ferryd PORT | ferryd --listen [ADDR:]PORT[=SERVICE] ... | ferryd start|stop|status|reload|check-config [options]";

    private readonly Argument<string?> _port = new("PORT")
    {
        Description = "Serve echo on this port on every interface, IPv4 and IPv6 (the seed's 'server local_port').",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private readonly Option<string> _stopTimeout = new("--timeout")
    {
        Description = "Seconds to wait for the daemon to exit before SIGKILL (default 10).",
        DefaultValueFactory = _ => "10",
    };

    private readonly Option<bool> _json = new("--json") { Description = "Print the status as JSON." };

    private readonly Option<bool> _connections = new("--connections")
    {
        Description = "Also list every open connection: id, listener, service, peer, age, idle, bytes in/out, queued bytes, room, upstream, pid.",
    };

    /// <summary>What the shell completes for option values the definitions cannot describe (fixed choices come from the options).</summary>
    private static readonly Dictionary<string, ValueHint> CompletionHints = new()
    {
        ["--listen"] = new(ValueKind.Listener, [.. ServiceCatalog.Names], [.. ServiceCatalog.DatagramNames]),
        ["--config"] = new(ValueKind.File),
        ["--log-file"] = new(ValueKind.File),
        ["--log-dir"] = new(ValueKind.Directory),
        ["--pid-file"] = new(ValueKind.File),
    };

    public RootCommand Build()
    {
        var foreground = new ServerOptions();
        var root = new RootCommand("ferryd: a TCP, UDP and Unix-socket service daemon (echo, discard, daytime, chargen, chat, broker, sink, forward, exec), in the foreground or as a daemon.") { _port };
        foreground.AddTo(root);
        root.SetAction((result, _) => ServerHost.RunAsync(foreground.ToSettings(result, result.GetValue(_port)), stdout));

        var daemon = new ServerOptions();
        var start = new Command("start", "Start ferryd as a daemon: detached, with a pid file; returns once every listener is bound.");
        daemon.AddTo(start);
        start.SetAction((result, _) => Daemonizer.StartAsync(daemon.ToSettings(result), stdout, stderr));

        var checking = new ServerOptions();
        var checkConfig = new Command("check-config", "Validate the configuration and print the effective listeners.");
        checking.AddTo(checkConfig);
        checkConfig.SetAction((result, _) => ConfigCheck.RunAsync(checking.ToSettings(result), stdout));

        var stopPidFile = new PidFileOptions();
        var stop = new Command("stop", "Stop the daemon: SIGTERM, wait, SIGKILL only after --timeout.") { _stopTimeout };
        stopPidFile.AddTo(stop);
        stop.SetAction((result, _) => DaemonControl.StopAsync(stopPidFile.Resolve(result), result.GetValue(_stopTimeout)!, stdout));

        var statusPidFile = new PidFileOptions();
        var status = new Command("status", "Is the daemon running? Its listeners and counts; exit 0 if so, 3 if not (LSB).") { _json, _connections };
        statusPidFile.AddTo(status);
        status.SetAction((result, _) => DaemonControl.StatusAsync(statusPidFile.Resolve(result), result.GetValue(_json), result.GetValue(_connections), stdout));

        var reloadPidFile = new PidFileOptions();
        var reload = new Command("reload", "Reload the daemon's configuration (SIGHUP); exit 1 if the new configuration was rejected.");
        reloadPidFile.AddTo(reload);
        reload.SetAction((result, _) => DaemonControl.ReloadAsync(reloadPidFile.Resolve(result), stdout, stderr));

        root.Subcommands.Add(start);
        root.Subcommands.Add(reload);
        root.Subcommands.Add(stop);
        root.Subcommands.Add(status);
        root.Subcommands.Add(checkConfig);
        CompletionScriptOption.AddTo(root, "ferryd", () => CompletionTree.From(root, CompletionHints));
        Ferry.Platform.PrintVersion.Install(root, "ferryd");
        return root;
    }

    /// <summary>Parses and runs; returns the process exit code.</summary>
    public async Task<int> InvokeAsync(string[] args)
    {
        var result = Build().Parse(args);
        // --help and --completion answer whatever else the line lacks.
        if (result.Errors.Count > 0 && result.Action is not { ClearsParseErrors: true })
            return Usage(result.Errors[0].Message);
        try
        {
            return await result.InvokeAsync(new InvocationConfiguration
            {
                // Our errors are one line each (below); signals belong to the host.
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            });
        }
        catch (UsageException ex)
        {
            return Usage(ex.Message);
        }
        catch (Services.ServiceOptionException ex) when (!ex.AboutTheSystem)
        {
            return Usage(ex.Message);
        }
        catch (Services.ServiceOptionException ex)
        {
            stderr.WriteLine($"ferryd: {ex.Message}");
            return ExitCodes.BadConfig;
        }
        catch (ConfigException ex)
        {
            stderr.WriteLine($"ferryd: {ex.Message}");
            return ExitCodes.BadConfig;
        }
        catch (StartupException ex)
        {
            stderr.WriteLine($"ferryd: {ex.Message}");
            return ex.ExitCode;
        }
    }

    private int Usage(string problem)
    {
        stderr.WriteLine($"ferryd: {problem}");
        stderr.WriteLine(UsageLine);
        stderr.WriteLine("Try 'ferryd --help' for more.");
        return ExitCodes.Usage;
    }
}

/// <summary>A command-line value that parsed but makes no sense; reported with the usage line.</summary>
internal sealed class UsageException(string message) : Exception(message);
