using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net;
using System.Net.Sockets;
using Ferry.Client.Bench;
using Ferry.Client.Net;

namespace Ferry.Client.Commands;

/// <summary>
/// <c>ferry bench HOST PORT [options]</c>: load an echo server, check every echoed byte and
/// report rates and latency percentiles. Exit 0 when clean, 1 on any error or corrupt echo
/// or when the server cannot be reached, 2 on bad arguments.
/// </summary>
internal sealed class BenchCommand
{
    public const string Usage = "Usage: ferry bench HOST PORT [--mode pingpong|bulk|connect|idle|chat] [--engine auto|epoll|async] [options]";
    public const string HelpCommand = "ferry bench --help";

    private const int MaxConnections = 100_000;
    private const int MaxChatMembers = 1000; // each member tracks every other member's sequence
    private const int MaxMessageSize = 16 * 1024 * 1024;
    private const int DefaultMessageSize = 64;
    private const int DefaultBulkWriteSize = 64 * 1024;
    private static readonly TimeSpan MaxDuration = TimeSpan.FromHours(1);

    private readonly Argument<string> _host = new("HOST") { Description = "Server host name or address" };

    private readonly Argument<int> _port = new("PORT") { Description = "Server port", CustomParser = ParsePort };

    private readonly Option<BenchMode> _mode = new("--mode", "-m")
    {
        Description = "pingpong: send, await echo, repeat; bulk: stream and read back; "
            + "connect: connect, one echo, close; idle: hold connections open; "
            + "chat: all connections in one room of a chat listener, every line checked at every member",
        DefaultValueFactory = _ => BenchMode.PingPong,
        CustomParser = ParseMode,
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
        Description = "Report this local process's resident memory before and under load (idle mode: per connection)",
    };

    private readonly Option<BenchEngine> _engine = new("--engine")
    {
        Description = "epoll: one thread, non-blocking syscalls (Linux; closed-loop pingpong, bulk and connect); "
            + "async: a .NET async loop per connection (every mode); auto (default): epoll where it applies",
        DefaultValueFactory = _ => BenchEngine.Auto,
        CustomParser = ParseEngine,
    };

    private readonly Option<bool> _json = new("--json") { Description = "Print the report as one JSON object, no progress" };

    public Command Create()
    {
        var command = new Command("bench", "Load an echo server, verify every echoed byte, report rate and latency percentiles")
        {
            _host, _port, _mode, _connections, _duration, _warmup, _size, _rate, _serverPid, _engine, _json,
        };
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
        command.Validators.Add(result =>
        {
            // Read as typed, not through GetValue: a mode or engine that failed to parse has
            // its own error already, and GetValue would throw on it.
            string mode = Token(result, _mode) ?? "pingpong";
            bool openLoop = result.GetResult(_rate) is { Implicit: false };
            if (openLoop && !mode.Equals("pingpong", StringComparison.OrdinalIgnoreCase) && !mode.Equals("chat", StringComparison.OrdinalIgnoreCase))
                result.AddError("--rate applies to pingpong and chat modes only");
            bool epollFits = mode.Equals("connect", StringComparison.OrdinalIgnoreCase)
                || mode.Equals("bulk", StringComparison.OrdinalIgnoreCase)
                || (mode.Equals("pingpong", StringComparison.OrdinalIgnoreCase) && !openLoop);
            if (mode.Equals("chat", StringComparison.OrdinalIgnoreCase) && result.GetResult(_connections) is { Tokens.Count: > 0 } conns
                && int.TryParse(conns.Tokens[0].Value, out int members) && (members < 2 || members > MaxChatMembers))
                result.AddError($"chat mode needs --conns between 2 and {MaxChatMembers} (members of the room)");
            if (mode.Equals("chat", StringComparison.OrdinalIgnoreCase) && result.GetResult(_connections) is null or { Tokens.Count: 0 })
                result.AddError("chat mode needs --conns: the number of members in the room (at least 2)");
            if ("epoll".Equals(Token(result, _engine), StringComparison.OrdinalIgnoreCase) && (!epollFits || !OperatingSystem.IsLinux()))
                result.AddError("--engine epoll applies to closed-loop pingpong, bulk and connect modes on Linux only");
        });
        command.SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
        return command;
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        string host = parse.GetRequiredValue(_host);
        BenchMode mode = parse.GetValue(_mode);
        bool json = parse.GetValue(_json);
        var settings = new BenchSettings(
            host,
            await ResolveAsync(host, parse.GetValue(_port), cancellationToken),
            mode,
            parse.GetValue(_connections),
            TimeSpan.FromSeconds(parse.GetValue(_duration)),
            TimeSpan.FromSeconds(parse.GetValue(_warmup)),
            parse.GetValue(_size) ?? (mode == BenchMode.Bulk ? DefaultBulkWriteSize : DefaultMessageSize),
            parse.GetValue(_rate),
            parse.GetValue(_serverPid),
            parse.GetValue(_engine));

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
            await Console.Error.WriteLineAsync($"ferry: bench: {report.Errors} error(s); first: {report.FirstError}");
            return ExitCodes.Failure;
        }
        return ExitCodes.Success;
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
        string text = result.Tokens[0].Value;
        if (PortNumber.TryParse(text, 1, out int port))
            return port;
        result.AddError($"invalid port '{text}'");
        return 0;
    }

    private static BenchMode ParseMode(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "pingpong";
        foreach (BenchMode mode in Enum.GetValues<BenchMode>())
        {
            if (string.Equals(BenchRun.ModeName(mode), text, StringComparison.OrdinalIgnoreCase))
                return mode;
        }
        result.AddError($"unknown mode '{text}' (pingpong, bulk, connect, idle or chat)");
        return BenchMode.PingPong;
    }

    private static string? Token(CommandResult result, Option option) =>
        result.GetResult(option) is { Tokens.Count: > 0 } given ? given.Tokens[0].Value : null;

    private static BenchEngine ParseEngine(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "auto";
        foreach (BenchEngine engine in Enum.GetValues<BenchEngine>())
        {
            if (string.Equals(engine.ToString(), text, StringComparison.OrdinalIgnoreCase))
                return engine;
        }
        result.AddError($"unknown engine '{text}' (auto, epoll or async)");
        return BenchEngine.Auto;
    }

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
