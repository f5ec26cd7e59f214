using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net;
using System.Net.Sockets;
using Ferry.Bench.Reports;
using Ferry.Client;
using Ferry.Client.Commands;
using Ferry.Client.Net;

namespace Ferry.Bench;

/// <summary>
/// <c>ferry-bench HOST PORT [options]</c>, <c>ferry-bench HOST PORT --udp [options]</c> or
/// <c>ferry-bench --unix PATH [options]</c> (or <c>ferry bench ...</c>): load an echo server, check
/// every echoed byte and report rates and latency percentiles. Exit 0 when clean, 1 on any error
/// or corrupt echo or when the server cannot be reached, 2 on bad arguments.
/// </summary>
internal sealed class BenchCommand(BenchProgramName name)
{
    private const int MaxConnections = 100_000;
    private const int MaxChatMembers = 1000; // each member tracks every other member's sequence
    private const int MaxThreadConnections = 1000; // a thread per connection (two in bulk)
    private const int MaxMessageSize = 16 * 1024 * 1024;
    private const int MaxDatagramSize = 65507; // IPv4's limit: 65535 less the IP and UDP headers
    private const int MaxUnixPathBytes = 107;  // sun_path holds 108 bytes with the terminating NUL
    private const int DefaultMessageSize = 64;
    private const int DefaultBulkWriteSize = 64 * 1024;
    private static readonly TimeSpan MaxDuration = TimeSpan.FromHours(1);

    // Optional only because --unix PATH takes their place; ValidateTogether requires them otherwise.
    private readonly Argument<string> _host = new("HOST") { Description = "Server host name or address (not with --unix)", Arity = ArgumentArity.ZeroOrOne };

    private readonly Argument<int> _port = new("PORT") { Description = "Server port (not with --unix)", CustomParser = ParsePort, Arity = ArgumentArity.ZeroOrOne };

    private readonly Option<bool> _udp = new("--udp")
    {
        Description = "UDP echo ping-pong: each connection is a connected UDP socket that sends one --size datagram and waits "
            + "for its echo; an echo not back within --loss-timeout counts the datagram as lost and the next one leaves "
            + "(closed-loop pingpong on the epoll and threads engines)",
    };

    private readonly Option<double?> _lossTimeout = new("--loss-timeout")
    {
        Description = $"--udp: seconds to wait for a datagram's echo before counting it as lost (default {BenchSettings.DefaultLossTimeout.TotalSeconds})",
    };

    private readonly Option<string?> _unix = new("--unix")
    {
        Description = "A Unix-domain stream socket at PATH instead of HOST PORT",
        HelpName = "PATH",
    };

    private readonly Option<BenchMode> _mode = new("--mode", "-m")
    {
        // No default factory: help would print it as the enum does ("PingPong"). Unset is
        // default(BenchMode), pingpong, and the description says so.
        Description = "pingpong (default): send, await echo, repeat; bulk: stream and read back; "
            + "connect: connect, one echo, close; idle: hold connections open; "
            + "chat: all connections in one room of a chat listener, every line checked at every member",
        HelpName = string.Join('|', Names<BenchMode>()),
        CustomParser = result => ParseName<BenchMode>(result, "mode"),
    };

    private readonly Option<int> _connections = new("--conns", "-c")
    {
        Description = "Concurrent connections (connect mode: concurrent connect loops; chat: members of the room)",
        DefaultValueFactory = _ => 1,
    };

    private readonly Option<double> _duration = new("--duration", "-d")
    {
        Description = "Seconds to measure",
        DefaultValueFactory = _ => 5,
    };

    private readonly Option<double> _warmup = new("--warmup", "-w")
    {
        Description = "Seconds of load before measuring starts",
        DefaultValueFactory = _ => 1,
    };

    private readonly Option<int?> _size = new("--size", "-s")
    {
        Description = $"Message size in bytes (bulk: write size); default {DefaultMessageSize}, bulk {DefaultBulkWriteSize}",
    };

    private readonly Option<double?> _rate = new("--rate", "-r")
    {
        Description = "Open loop: send on a fixed schedule and count latency from each message's intended send time. "
            + "pingpong: total messages per second over all connections; chat: lines per second per member "
            + "(--conns 1000 --rate 10 offers 1000 x 999 x 10, about 10 M deliveries/s)",
    };

    private readonly Option<int?> _serverPid = new("--server-pid")
    {
        Description = "A local server process: report its resident memory before and under load (idle mode: per connection), "
            + "and its CPU time while measuring, per message and per MB",
    };

    private readonly Option<BenchEngine> _engine = new("--engine")
    {
        Description = "The client style. epoll: one thread, non-blocking syscalls (Linux; closed-loop pingpong, bulk and connect); "
            + "threads: blocking sockets, a thread per connection and direction, like ferry and socat (closed-loop pingpong, bulk and connect); "
            + "async: a .NET async loop per connection (every mode); auto (default): epoll where it applies, else async",
        HelpName = string.Join('|', Names<BenchEngine>()),
        CustomParser = result => ParseName<BenchEngine>(result, "engine"),
    };

    private readonly Option<bool> _json = new("--json") { Description = "Print the report as one JSON object, no progress" };

    private readonly Option<string[]> _also = new("--also")
    {
        Description = "Chat: another node of the same hub, HOST:PORT (repeatable); the members are dealt over HOST PORT and these in turn",
        AllowMultipleArgumentsPerToken = false,
    };

    public string Usage =>
        $"Usage: {name.Command} HOST PORT [--udp] [--mode {_mode.HelpName}] [--engine {_engine.HelpName}] [options], or {name.Command} --unix PATH [options]";

    public string HelpCommand => $"{name.Command} --help";

    /// <summary>The whole command line of ferry-bench: HOST, PORT and the options.</summary>
    public RootCommand CreateRoot()
    {
        var root = new RootCommand("Load an echo server, verify every echoed byte, report rate, latency percentiles and the server's CPU per message")
        {
            _host, _port, _mode, _connections, _duration, _warmup, _size, _rate, _serverPid, _engine, _json, _also,
            _udp, _lossTimeout, _unix,
        };
        root.HelpName = name.Command;
        // The names the parser takes, not the enum's own ("PingPong"), for shell completion.
        _mode.CompletionSources.Clear();
        _mode.CompletionSources.Add(Names<BenchMode>());
        _engine.CompletionSources.Clear();
        _engine.CompletionSources.Add(Names<BenchEngine>());
        _connections.Validators.Add(result => RequireRange(result, result.GetValueOrDefault<int>(), 1, MaxConnections));
        _duration.Validators.Add(result => RequireSeconds(result, result.GetValueOrDefault<double>(), allowZero: false));
        _warmup.Validators.Add(result => RequireSeconds(result, result.GetValueOrDefault<double>(), allowZero: true));
        _size.Validators.Add(result => RequireRange(result, result.GetValueOrDefault<int?>() ?? 1, 1, MaxMessageSize));
        _rate.Validators.Add(result =>
        {
            double rate = result.GetValueOrDefault<double?>() ?? 1;
            if (!(rate > 0) || double.IsInfinity(rate))
                result.AddError("--rate must be a positive number of messages per second");
        });
        _serverPid.Validators.Add(result => RequireRange(result, result.GetValueOrDefault<int?>() ?? 1, 1, int.MaxValue));
        _lossTimeout.Validators.Add(result =>
        {
            double seconds = result.GetValueOrDefault<double?>() ?? 1;
            if (!(seconds >= 0.001 && seconds <= 60))
                result.AddError("--loss-timeout must be 0.001 to 60 seconds");
        });
        _unix.Validators.Add(result =>
        {
            string path = result.GetValueOrDefault<string?>() ?? string.Empty;
            if (path.Length == 0)
                result.AddError("--unix needs the path of a socket");
            else if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxUnixPathBytes)
                result.AddError($"--unix: a socket path has at most {MaxUnixPathBytes} bytes");
        });
        root.Validators.Add(ValidateTogether);
        root.SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
        return root;
    }

    /// <summary>A malformed command line, as one line naming the problem, the usage line and where to find more.</summary>
    public void WriteUsageError(TextWriter error, ParseResult parse)
    {
        if (parse.GetResult(_unix) is null)
        {
            UsageError.Write(error, parse, Usage, HelpCommand, name.MessagePrefix);
            return;
        }
        // UsageError names a missing HOST or PORT first, and with --unix there is none to miss:
        // the same three lines, naming the first real problem.
        string problem = parse.UnmatchedTokens.Count > 0 ? UsageError.Describe(parse)
            : parse.Errors[0].SymbolResult is OptionResult { Tokens.Count: 0 } option ? $"option '{option.Option.Name}' needs a value"
            : parse.Errors[0].Message.TrimEnd('.');
        error.WriteLine($"{name.MessagePrefix}: {problem}");
        error.WriteLine(Usage);
        error.WriteLine($"Try '{HelpCommand}' for more.");
    }

    /// <summary>Rules between options. Read as typed, not through GetValue: a mode or engine that failed to parse has its own error already, and GetValue would throw on it.</summary>
    private void ValidateTogether(CommandResult result)
    {
        string modeText = Token(result, _mode) ?? "pingpong";
        bool openLoop = result.GetResult(_rate) is { Implicit: false };
        BenchMode? mode = TryParse<BenchMode>(modeText);
        string? engineText = Token(result, _engine);
        ValidateTransport(result, mode, openLoop, engineText);
        if (openLoop && mode is not (null or BenchMode.PingPong or BenchMode.Chat))
            result.AddError("--rate applies to pingpong and chat modes only");
        int? connections = result.GetResult(_connections) is { Tokens.Count: > 0 } given && int.TryParse(given.Tokens[0].Value, out int count) ? count : null;
        if (mode == BenchMode.Chat && connections is < 2 or > MaxChatMembers)
            result.AddError($"chat mode needs --conns between 2 and {MaxChatMembers} (members of the room)");
        if (mode == BenchMode.Chat && connections is null)
            result.AddError("chat mode needs --conns: the number of members in the room (at least 2)");
        if (result.GetResult(_also) is { Tokens.Count: > 0 } also)
        {
            if (mode != BenchMode.Chat)
                result.AddError("--also applies to chat mode only (members spread over the nodes of one hub)");
            foreach (var token in also.Tokens)
            {
                if (!HostPort.TryParse(token.Value, out var address, out string problem) || address.Host is null || address.Port == 0)
                    result.AddError($"--also '{token.Value}': {(problem.Length > 0 ? problem : "give HOST:PORT")}");
            }
        }
        if (TryParse<BenchEngine>(engineText ?? "auto") is BenchEngine engine && mode is BenchMode known)
        {
            if (!BenchSettings.Runs(engine, known, openLoop))
            {
                string where = engine == BenchEngine.Epoll ? " on Linux only" : string.Empty;
                result.AddError($"--engine {BenchSettings.NameOf(engine)} applies to closed-loop pingpong, bulk and connect modes{where}");
            }
            else if (engine == BenchEngine.Threads && connections > MaxThreadConnections)
            {
                result.AddError($"--engine threads runs a thread per connection: at most {MaxThreadConnections} connections");
            }
        }
    }

    /// <summary>
    /// HOST PORT, or --unix PATH in their place; what --udp runs (closed-loop pingpong, epoll and
    /// threads engines, datagrams IPv4 can carry); --loss-timeout with --udp only.
    /// </summary>
    private void ValidateTransport(CommandResult result, BenchMode? mode, bool openLoop, string? engineText)
    {
        bool hostGiven = result.GetResult(_host) is { Tokens.Count: > 0 };
        bool portGiven = result.GetResult(_port) is { Tokens.Count: > 0 };
        bool udp = IsGiven(result, _udp);
        if (result.GetResult(_unix) is null)
        {
            if (!hostGiven)
                result.AddError("missing HOST and PORT (or --unix PATH)");
            else if (!portGiven)
                result.AddError("missing PORT");
        }
        else
        {
            if (hostGiven || portGiven)
                result.AddError("--unix PATH takes the place of HOST PORT: give one or the other");
            if (udp)
                result.AddError("--udp and --unix do not go together: --unix is a stream socket");
            if (result.GetResult(_also) is { Tokens.Count: > 0 })
                result.AddError("--also names TCP nodes: it does not go with --unix");
        }

        if (result.GetResult(_lossTimeout) is { Tokens.Count: > 0 } && !udp)
            result.AddError("--loss-timeout applies to --udp only");
        if (!udp)
            return;
        if (mode is not (null or BenchMode.PingPong))
            result.AddError("--udp runs pingpong mode only (echo ping-pong with loss counted)");
        if (openLoop)
            result.AddError("--udp runs closed loop only: no --rate");
        if (TryParse<BenchEngine>(engineText ?? "auto") == BenchEngine.Async)
            result.AddError("--udp runs on the epoll and threads engines (or auto), not async");
        if (Token(result, _size) is string sizeText && int.TryParse(sizeText, out int size) && size > MaxDatagramSize)
            result.AddError($"--udp: a datagram carries at most {MaxDatagramSize} bytes (--size)");
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        string? unixPath = parse.GetValue(_unix);
        BenchTransport transport = unixPath is not null ? BenchTransport.Unix
            : parse.GetValue(_udp) ? BenchTransport.Udp
            : BenchTransport.Tcp;
        string host = unixPath ?? parse.GetRequiredValue(_host)!;
        BenchMode mode = parse.GetValue(_mode);
        bool json = parse.GetValue(_json);
        var settings = new BenchSettings(
            host,
            unixPath is not null ? new UnixDomainSocketEndPoint(unixPath) : await ResolveAsync(host, parse.GetValue(_port), cancellationToken),
            mode,
            parse.GetValue(_connections),
            TimeSpan.FromSeconds(parse.GetValue(_duration)),
            TimeSpan.FromSeconds(parse.GetValue(_warmup)),
            parse.GetValue(_size) ?? (mode == BenchMode.Bulk ? DefaultBulkWriteSize : DefaultMessageSize),
            parse.GetValue(_rate),
            parse.GetValue(_serverPid),
            parse.GetValue(_engine))
        {
            AlsoTargets = await ResolveAllAsync(parse.GetValue(_also) ?? [], cancellationToken),
            Transport = transport,
            LossTimeout = parse.GetValue(_lossTimeout) is double lossSeconds ? TimeSpan.FromSeconds(lossSeconds) : BenchSettings.DefaultLossTimeout,
        };

        IBenchProgress progress = json ? new PlainProgress(null)
            : Console.IsOutputRedirected ? new PlainProgress(Console.Out)
            : new LiveProgress();
        BenchReport report = await new BenchRun(settings, progress).RunAsync(cancellationToken);

        if (json)
            BenchReportJson.Write(Console.OpenStandardOutput(), report);
        else
            BenchReportText.Write(Console.Out, report);
        if (report.Failed)
        {
            await Console.Error.WriteLineAsync($"{name.Command}: {report.Errors} error(s); first: {report.FirstError}");
            return ExitCodes.Failure;
        }
        return ExitCodes.Success;
    }

    private static async Task<IPEndPoint[]> ResolveAllAsync(string[] addresses, CancellationToken cancellationToken)
    {
        var targets = new List<IPEndPoint>();
        foreach (string text in addresses)
        {
            HostPort.TryParse(text, out var address, out _);
            targets.Add(await ResolveAsync(address!.Host!, address.Port, cancellationToken));
        }
        return [.. targets];
    }

    private static async Task<IPEndPoint> ResolveAsync(string host, int port, CancellationToken cancellationToken)
    {
        try
        {
            IPAddress[] addresses = await HostLookup.ResolveAsync(host, cancellationToken);
            // One address for the whole run, so every connection measures the same path.
            return new IPEndPoint(addresses[0], port);
        }
        catch (SocketException exception)
        {
            throw new CommandFailedException($"{host}: {SocketErrorText.Describe(exception)}");
        }
    }

    private static int ParsePort(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
            return 0;
        string text = result.Tokens[0].Value;
        if (PortNumber.TryParse(text, 1, out int port))
            return port;
        result.AddError($"invalid port '{text}'");
        return 0;
    }

    /// <summary>A mode's or an engine's value; the error lists the names there are.</summary>
    private static T ParseName<T>(ArgumentResult result, string what) where T : struct, Enum
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : BenchSettings.NameOf(default(T));
        if (TryParse<T>(text) is T value)
            return value;
        string[] names = Names<T>();
        result.AddError($"unknown {what} '{text}' ({string.Join(", ", names[..^1])} or {names[^1]})");
        return default;
    }

    private static string[] Names<T>() where T : struct, Enum => Enum.GetValues<T>().Select(value => BenchSettings.NameOf(value)).ToArray();

    /// <summary>A mode or engine by its name (<see cref="BenchSettings.NameOf"/>), any case.</summary>
    private static T? TryParse<T>(string text) where T : struct, Enum
    {
        foreach (T value in Enum.GetValues<T>())
        {
            if (string.Equals(BenchSettings.NameOf(value), text, StringComparison.OrdinalIgnoreCase))
                return value;
        }
        return null;
    }

    /// <summary>A flag given on the command line (<c>--udp</c>, or <c>--udp true</c>).</summary>
    private static bool IsGiven(CommandResult result, Option<bool> flag) =>
        result.GetResult(flag) is { } given && (given.Tokens.Count == 0 || string.Equals(given.Tokens[0].Value, "true", StringComparison.OrdinalIgnoreCase));

    private static string? Token(CommandResult result, Option option) =>
        result.GetResult(option) is { Tokens.Count: > 0 } given ? given.Tokens[0].Value : null;

    private static void RequireRange(OptionResult result, int value, int minimum, int maximum)
    {
        if (value < minimum || value > maximum)
            result.AddError($"{result.Option.Name} must be between {minimum} and {maximum}");
    }

    private static void RequireSeconds(OptionResult result, double seconds, bool allowZero)
    {
        bool valid = allowZero ? seconds >= 0 : seconds > 0;
        if (!valid || !(seconds <= MaxDuration.TotalSeconds))
            result.AddError($"{result.Option.Name} must be {(allowZero ? "0" : "more than 0")} to {MaxDuration.TotalSeconds} seconds");
    }
}
