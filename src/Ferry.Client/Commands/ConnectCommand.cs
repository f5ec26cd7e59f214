using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ferry.Client.Net;

namespace Ferry.Client.Commands;

/// <summary>The root command, <c>ferry HOST PORT [--timeout SECONDS]</c>: connect and relay.</summary>
internal sealed class ConnectCommand
{
    public const string Usage = "Usage: ferry HOST PORT";
    public const string HelpCommand = "ferry --help";

    private const double DefaultTimeoutSeconds = 10;

    // CancellationTokenSource.CancelAfter accepts at most uint.MaxValue - 1 milliseconds.
    private const double MaxTimeoutSeconds = 4_000_000;

    private readonly Argument<string> _host = new("HOST")
    {
        Description = "Host name, IPv4 address, or IPv6 address (brackets optional)",
        CustomParser = ParseHost,
    };

    private readonly Argument<int> _port = new("PORT")
    {
        Description = "TCP port, 1-65535",
        CustomParser = ParsePort,
    };

    private readonly Option<double> _timeout = new("--timeout", "-w")
    {
        Description = "Connect timeout in seconds per address; decimals allowed",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => DefaultTimeoutSeconds,
        CustomParser = ParseTimeout,
    };

    private readonly TlsOptions _tls = new(listening: false);

    public RootCommand CreateRoot()
    {
        var root = new RootCommand(
            "Connect to a TCP server and relay stdin to it and its replies to stdout, "
            + "or wait for one with 'ferry listen'.")
        {
            _host,
            _port,
            _timeout,
        };
        _tls.AddTo(root);
        // ferry offers no [suggest] or [diagram] directives; see LeadingBracketArgument for
        // why a leading "[...]" argument still needs protecting.
        root.Directives.Clear();
        root.SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
        return root;
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        string host = parse.GetRequiredValue(_host);
        int port = parse.GetValue(_port);
        double timeoutSeconds = parse.GetValue(_timeout);

        TlsSettings? tls = _tls.ToSettings(parse);

        Socket socket = await TcpConnector.ConnectAsync(host, port, timeoutSeconds, cancellationToken);
        if (tls is { Insecure: true })
            await Console.Error.WriteLineAsync("ferry: warning: --insecure: the server's certificate is not verified");
        using PeerConnection peer = tls is null
            ? PeerConnection.Plain(socket)
            : await TlsHandshake.AsClientAsync(socket, host, tls, $"{host} port {port}", timeoutSeconds, cancellationToken);
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
            throw new CommandFailedException($"connection to {host} port {port}: {failure.Message}");
        }
        return ExitCodes.Success;
    }

    private static string ParseHost(ArgumentResult result)
    {
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
