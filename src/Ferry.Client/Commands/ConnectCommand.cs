using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ferry.Client.Net;

namespace Ferry.Client.Commands;

/// <summary>
/// The root command: <c>ferry [-u] HOST PORT</c> or <c>ferry -U PATH</c>: connect and relay,
/// over TCP (the default), UDP or a Unix-domain stream socket.
/// </summary>
internal sealed class ConnectCommand
{
    public const string Usage = "Usage: ferry [-u] HOST PORT\n       ferry -U PATH";
    public const string HelpCommand = "ferry --help";

    private const double DefaultTimeoutSeconds = 10;

    /// <summary>
    /// How long <c>ferry -u</c> waits for late replies once its input has ended, without
    /// --timeout: enough for a server across the world, short enough for scripts that expect
    /// no answer (syslog, statsd). UDP has no close to wait for instead.
    /// </summary>
    private static readonly TimeSpan UdpRepliesAfterInput = TimeSpan.FromSeconds(1);

    // CancellationTokenSource.CancelAfter accepts at most uint.MaxValue - 1 milliseconds.
    private const double MaxTimeoutSeconds = 4_000_000;

    /// <summary>A Unix socket is on this machine: its certificate is checked for this name.</summary>
    private const string UnixTlsServerName = "localhost";

    // Optional for the parser, required by Validate unless -U is given.
    private readonly Argument<string?> _host = new("HOST")
    {
        Description = "Host name, IPv4 address, or IPv6 address (brackets optional)",
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = ParseHost,
    };

    private readonly Argument<int> _port = new("PORT")
    {
        Description = "TCP or UDP port, 1-65535",
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = ParsePort,
    };

    private readonly Option<double> _timeout = new("--timeout", "-w")
    {
        Description = "Connect timeout in seconds per address; with -u, end after this long without a datagram "
            + "either way (default: 1 s after the input ends); decimals allowed",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => DefaultTimeoutSeconds,
        CustomParser = ParseTimeout,
    };

    private readonly Option<bool> _udp = new("--udp", "-u")
    {
        Description = "UDP: each line of text input (each read of binary input) is one datagram, "
            + "each datagram received is written out as it arrives",
    };

    private readonly Option<UnixSocketAddress?> _unix = new("--unix", "-U")
    {
        Description = "Connect to a Unix-domain stream socket instead of HOST PORT; @NAME is Linux's abstract namespace",
        HelpName = "PATH",
        CustomParser = UnixSocketArgument.Parse,
    };

    private readonly TlsOptions _tls = new(listening: false);

    public RootCommand CreateRoot()
    {
        var root = new RootCommand(
            "Connect to a TCP server (a UDP one with -u, a Unix-domain socket with -U) and relay stdin to it "
            + "and its replies to stdout, or wait for one with 'ferry listen'.")
        {
            _host,
            _port,
            _timeout,
            _udp,
            _unix,
        };
        _tls.AddTo(root);
        root.Validators.Add(Validate);
        // ferry offers no [suggest] or [diagram] directives; see LeadingBracketArgument for
        // why a leading "[...]" argument still needs protecting.
        root.Directives.Clear();
        root.SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
        return root;
    }

    private void Validate(CommandResult result)
    {
        // --version answers alone, whatever else is missing (System.CommandLine's own arity
        // errors give way to it; ours must too).
        if (result.Children.OfType<OptionResult>().Any(o => o.Option is VersionOption))
            return;
        bool udp = result.GetValue(_udp);
        // Whether -U was given, not its value: a malformed PATH has its own error already.
        bool unix = result.GetResult(_unix) is not null;
        bool host = result.GetResult(_host) is { Tokens.Count: > 0 };
        bool port = result.GetResult(_port) is { Tokens.Count: > 0 };
        if (udp && unix)
            result.AddError("-u and -U exclude each other (ferry has no Unix datagram sockets)");
        else if (unix && host)
            result.AddError("-U PATH takes no HOST or PORT");
        else if (!unix && !host)
            result.AddError("missing HOST and PORT");
        else if (!unix && !port)
            result.AddError("missing PORT");
        else if (udp && _tls.Requested(result))
            result.AddError("--tls does not work with -u (TLS needs a stream; ferry has no DTLS)");
    }

    private Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        double timeoutSeconds = parse.GetValue(_timeout);
        if (parse.GetValue(_unix) is UnixSocketAddress unix)
            return RunUnixAsync(parse, unix, timeoutSeconds, cancellationToken);
        string host = parse.GetRequiredValue(_host)!;
        int port = parse.GetValue(_port);
        if (parse.GetValue(_udp))
        {
            // Given, --timeout is how long the exchange may be quiet at any time, as nc -u -w.
            TimeSpan? quiet = parse.GetResult(_timeout) is { Implicit: false } ? TimeSpan.FromSeconds(timeoutSeconds) : null;
            return RunUdpAsync(host, port, quiet, cancellationToken);
        }
        return RunTcpAsync(parse, host, port, timeoutSeconds, cancellationToken);
    }

    private async Task<int> RunTcpAsync(ParseResult parse, string host, int port, double timeoutSeconds, CancellationToken cancellationToken)
    {
        TlsSettings? tls = _tls.ToSettings(parse);
        Socket socket = await TcpConnector.ConnectAsync(host, port, timeoutSeconds, cancellationToken);
        return await RelayAsync(socket, tls, host, $"{host} port {port}", timeoutSeconds, cancellationToken);
    }

    private async Task<int> RunUnixAsync(ParseResult parse, UnixSocketAddress address, double timeoutSeconds, CancellationToken cancellationToken)
    {
        TlsSettings? tls = _tls.ToSettings(parse);
        Socket socket = await UnixConnector.ConnectAsync(address, timeoutSeconds, cancellationToken);
        return await RelayAsync(socket, tls, UnixTlsServerName, address.Text, timeoutSeconds, cancellationToken);
    }

    /// <summary>The byte stream of TCP and Unix sockets: stdin to the peer, half-close at EOF, the peer to stdout.</summary>
    private static async Task<int> RelayAsync(Socket socket, TlsSettings? tls, string serverName, string peerName,
        double timeoutSeconds, CancellationToken cancellationToken)
    {
        if (tls is { Insecure: true })
            await Console.Error.WriteLineAsync("ferry: warning: --insecure: the server's certificate is not verified");
        using PeerConnection peer = tls is null
            ? PeerConnection.Plain(socket)
            : await TlsHandshake.AsClientAsync(socket, serverName, tls, peerName, timeoutSeconds, cancellationToken);
        Stream output = StandardStreams.OpenOutput();
        // Task.Run because a console read may block synchronously inside ReadAsync; the
        // relay must be receiving before the first stdin byte arrives, not after.
        Task upload = Task.Run(
            () => SocketPump.CopyToPeerAsync(StandardStreams.OpenInput(), peer, cancellationToken),
            cancellationToken);

        try
        {
            await ConnectionRelay.RunAsync(peer, upload, output, cancellationToken);
        }
        catch (PeerConnectionException failure)
        {
            throw new CommandFailedException($"connection to {peerName}: {failure.Message}");
        }
        return ExitCodes.Success;
    }

    private static async Task<int> RunUdpAsync(string host, int port, TimeSpan? quiet, CancellationToken cancellationToken)
    {
        using Socket socket = await UdpConnector.ConnectAsync(host, port, cancellationToken);
        var input = new StdinDatagrams(StandardStreams.OpenInput());
        try
        {
            await DatagramRelay.RunAsync(socket, input, StandardStreams.OpenOutput(),
                new QuietPeriod(quiet, quiet ?? UdpRepliesAfterInput), cancellationToken);
        }
        catch (PeerConnectionException failure) when (failure.Cause == SocketError.ConnectionRefused)
        {
            // The ICMP answer to a datagram: nothing listens on that port. Worded as TCP's
            // refusal, so one check in a script serves both.
            throw new CommandFailedException($"connect to {host} port {port}: {failure.Message}");
        }
        catch (PeerConnectionException failure)
        {
            throw new CommandFailedException($"connection to {host} port {port}: {failure.Message}");
        }
        return ExitCodes.Success;
    }

    private static string? ParseHost(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
            return null;
        // Trim: LeadingBracketArgument may have added a space; no host name contains one.
        string text = result.Tokens[0].Value.Trim();
        if (text.Length == 0)
            result.AddError("HOST must not be empty");
        else if (text.StartsWith('[') && !IsBracketedIPv6(text))
            result.AddError($"invalid IPv6 address '{text}'");
        return text;
    }

    private static bool IsBracketedIPv6(string text) =>
        text.EndsWith(']')
        && IPAddress.TryParse(text[1..^1], out IPAddress? address)
        && address.AddressFamily == AddressFamily.InterNetworkV6;

    private static int ParsePort(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
            return 0;
        string text = result.Tokens[0].Value;
        if (PortNumber.TryParse(text, minimum: 1, out int port))
            return port;
        result.AddError($"invalid port '{text}' (must be 1-{PortNumber.Max})");
        return 0;
    }

    private static double ParseTimeout(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        // Plain decimals only: no sign, exponent, NaN or infinity.
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds)
            && seconds > 0
            && seconds <= MaxTimeoutSeconds)
        {
            return seconds;
        }
        result.AddError($"invalid timeout '{text}' (seconds, greater than 0, e.g. 2.5)");
        return DefaultTimeoutSeconds;
    }
}
