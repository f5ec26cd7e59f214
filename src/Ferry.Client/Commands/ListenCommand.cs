using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net.Sockets;
using Ferry.Client.Net;

namespace Ferry.Client.Commands;

/// <summary>
/// <c>ferry listen [-u] [ADDR:]PORT [--keep-open]</c> or <c>ferry listen -U PATH</c>: wait for a
/// peer, relay its bytes (or datagrams) to stdout and the operator's stdin back to it.
/// </summary>
internal sealed class ListenCommand
{
    public const string Usage = "Usage: ferry listen [-u] [ADDR:]PORT\n       ferry listen -U PATH";
    public const string HelpCommand = "ferry listen --help";

    // Peers arriving while one is served wait in the kernel's queue until their turn.
    private const int KeepOpenBacklog = 16;

    // Optional for the parser, required by Validate unless -U is given.
    private readonly Argument<HostPort?> _address = new("[ADDR:]PORT")
    {
        Description = "Port to listen on (0 picks a free one), optionally after an IPv4 address, "
            + "[IPv6] address or host name; all interfaces if omitted",
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = ParseAddress,
    };

    private readonly Option<bool> _keepOpen = new("--keep-open", "-k")
    {
        Description = "After a peer disconnects, wait for the next one instead of exiting; "
            + "with -u, hear every peer and send stdin to the one that sent last",
    };

    private readonly Option<bool> _udp = new("--udp", "-u")
    {
        Description = "UDP: answer the first peer that sends (see --keep-open); each line of text input "
            + "(each read of binary input) is one datagram",
    };

    private readonly Option<UnixSocketAddress?> _unix = new("--unix", "-U")
    {
        Description = "Listen on a Unix-domain stream socket instead of [ADDR:]PORT (@NAME: Linux's abstract "
            + "namespace); a stale socket file there is replaced, and the file is removed when ferry stops listening",
        HelpName = "PATH",
        CustomParser = UnixSocketArgument.Parse,
    };

    private readonly TlsOptions _tls = new(listening: true);

    public Command Create()
    {
        var command = new Command("listen",
            "Wait for a TCP peer (a UDP one with -u, a Unix-domain one with -U) and relay stdin to it and its bytes to stdout")
        {
            _address,
            _keepOpen,
            _udp,
            _unix,
        };
        _tls.AddTo(command);
        command.Validators.Add(Validate);
        command.SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
        return command;
    }

    private void Validate(CommandResult result)
    {
        bool udp = result.GetValue(_udp);
        // Whether -U was given, not its value: a malformed PATH has its own error already.
        bool unix = result.GetResult(_unix) is not null;
        bool address = result.GetResult(_address) is { Tokens.Count: > 0 };
        if (udp && unix)
            result.AddError("-u and -U exclude each other (ferry has no Unix datagram sockets)");
        else if (unix && address)
            result.AddError("-U PATH takes no [ADDR:]PORT");
        else if (!unix && !address)
            result.AddError("missing [ADDR:]PORT");
        else if (udp && _tls.Requested(result))
            result.AddError("--tls does not work with -u (TLS needs a stream; ferry has no DTLS)");
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        bool keepOpen = parse.GetValue(_keepOpen);
        UnixSocketAddress? unix = parse.GetValue(_unix);
        if (unix is null && parse.GetValue(_udp))
            return await UdpListenSession.RunAsync(parse.GetValue(_address)!, keepOpen, cancellationToken);

        TlsSettings? tls = _tls.ToSettings(parse);
        // Load the certificate before listening: a bad file is reported before any peer waits.
        tls?.LoadIdentity();

        int backlog = keepOpen ? KeepOpenBacklog : 1;
        using StreamListener listener = unix is null
            ? await OpenTcpAsync(parse.GetValue(_address)!, backlog, cancellationToken)
            : UnixListeningSocket.Open(unix, backlog);
        // stderr, because stdout carries nothing but the peer's bytes.
        await Console.Error.WriteLineAsync($"listening {listener.Name}");

        Stream output = StandardStreams.OpenOutput();
        var input = new OperatorInput(StandardStreams.OpenInput());
        // Task.Run because a console read may block synchronously inside ReadAsync.
        Task inputPump = Task.Run(() => input.RunAsync(cancellationToken), cancellationToken);

        while (true)
        {
            Socket peer;
            try
            {
                peer = await listener.Socket.AcceptAsync(cancellationToken);
            }
            catch (SocketException exception)
            {
                throw new CommandFailedException($"accept failed: {SocketErrorText.Describe(exception)}");
            }
            if (!keepOpen)
            {
                // Later callers get "connection refused" (a Unix socket's: "no such file")
                // instead of waiting on a listener nobody will accept from.
                listener.Dispose();
            }

            int? exitCode;
            using (peer)
                exitCode = await ServeAsync(peer, tls, input, inputPump, output, keepOpen, cancellationToken);
            if (exitCode is int code)
                return code;
        }
    }

    private static async Task<StreamListener> OpenTcpAsync(HostPort address, int backlog, CancellationToken cancellationToken)
    {
        Socket socket = await ListeningSocket.OpenAsync(address, backlog, cancellationToken);
        return new StreamListener(socket, EndpointText.Format(socket.LocalEndPoint), socketFile: null);
    }

    /// <summary>Relays one peer; returns an exit code to stop, or null to accept the next peer.</summary>
    private static async Task<int?> ServeAsync(Socket socket, TlsSettings? tls,
        OperatorInput input, Task inputPump, Stream output, bool keepOpen, CancellationToken cancellationToken)
    {
        string from = PeerName.Of(socket);
        await Console.Error.WriteLineAsync($"connection from {from}");
        // Nagle applies to TCP only; a Unix socket has no such option.
        if (socket.ProtocolType == ProtocolType.Tcp)
            socket.NoDelay = true;
        PeerConnection peer;
        try
        {
            peer = tls is null ? PeerConnection.Plain(socket) : await TlsHandshake.AsServerAsync(socket, tls, from, cancellationToken);
        }
        catch (CommandFailedException failure) when (keepOpen)
        {
            await Console.Error.WriteLineAsync($"ferry: {failure.Message}");
            return null;
        }
        using var connection = peer;
        input.Attach(peer);
        try
        {
            await ConnectionRelay.RunAsync(peer, inputPump, output, cancellationToken);
        }
        catch (PeerConnectionException failure)
        {
            string message = $"connection from {from}: {failure.Message}";
            if (!keepOpen)
                throw new CommandFailedException(message);
            await Console.Error.WriteLineAsync($"ferry: {message}");
            return null;
        }
        finally
        {
            input.Detach(peer);
        }
        return keepOpen ? null : ExitCodes.Success;
    }

    private static HostPort? ParseAddress(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
            return null;
        string text = result.Tokens[0].Value;
        if (HostPort.TryParse(text, out HostPort? address, out string error))
            return address;
        result.AddError(error);
        return new HostPort(null, 0);
    }
}
