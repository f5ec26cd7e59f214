using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net.Sockets;
using Ferry.Client.Net;

namespace Ferry.Client.Commands;

/// <summary>
/// <c>ferry listen [ADDR:]PORT [--keep-open]</c>: wait for a peer, relay its bytes to stdout
/// and the operator's stdin back to it.
/// </summary>
internal sealed class ListenCommand
{
    public const string Usage = "Usage: ferry listen [ADDR:]PORT";
    public const string HelpCommand = "ferry listen --help";

    // Peers arriving while one is served wait in the kernel's queue until their turn.
    private const int KeepOpenBacklog = 16;

    private readonly Argument<HostPort> _address = new("[ADDR:]PORT")
    {
        Description = "Port to listen on (0 picks a free one), optionally after an IPv4 address, "
            + "[IPv6] address or host name; all interfaces if omitted",
        CustomParser = ParseAddress,
    };

    private readonly Option<bool> _keepOpen = new("--keep-open", "-k")
    {
        Description = "After a peer disconnects, wait for the next one instead of exiting",
    };

    private readonly TlsOptions _tls = new(listening: true);

    public Command Create()
    {
        var command = new Command("listen", "Wait for a TCP peer and relay stdin to it and its bytes to stdout")
        {
            _address,
            _keepOpen,
        };
        _tls.AddTo(command);
        command.SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
        return command;
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        HostPort address = parse.GetRequiredValue(_address);
        bool keepOpen = parse.GetValue(_keepOpen);
        TlsSettings? tls = _tls.ToSettings(parse);
        // Load the certificate before listening: a bad file is reported before any peer waits.
        tls?.LoadIdentity();

        using Socket listener = await ListeningSocket.OpenAsync(address, keepOpen ? KeepOpenBacklog : 1, cancellationToken);
        // stderr, because stdout carries nothing but the peer's bytes.
        await Console.Error.WriteLineAsync($"listening {EndpointText.Format(listener.LocalEndPoint)}");

        Stream output = StandardStreams.OpenOutput();
        var input = new OperatorInput(StandardStreams.OpenInput());
        // Task.Run because a console read may block synchronously inside ReadAsync.
        Task inputPump = Task.Run(() => input.RunAsync(cancellationToken), cancellationToken);

        while (true)
        {
            Socket peer;
            try
            {
                peer = await listener.AcceptAsync(cancellationToken);
            }
            catch (SocketException exception)
            {
                throw new CommandFailedException($"accept failed: {SocketErrorText.Describe(exception)}");
            }
            if (!keepOpen)
            {
                // Later callers get "connection refused" instead of waiting on a listener
                // nobody will accept from.
                listener.Close();
            }

            int? exitCode;
            using (peer)
                exitCode = await ServeAsync(peer, tls, input, inputPump, output, keepOpen, cancellationToken);
            if (exitCode is int code)
                return code;
        }
    }

    /// <summary>Relays one peer; returns an exit code to stop, or null to accept the next peer.</summary>
    private static async Task<int?> ServeAsync(Socket socket, TlsSettings? tls,
        OperatorInput input, Task inputPump, Stream output, bool keepOpen, CancellationToken cancellationToken)
    {
        string from = EndpointText.Format(socket.RemoteEndPoint);
        await Console.Error.WriteLineAsync($"connection from {from}");
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

    private static HostPort ParseAddress(ArgumentResult result)
    {
        string text = result.Tokens[0].Value;
        if (HostPort.TryParse(text, out HostPort? address, out string error))
            return address;
        result.AddError(error);
        return new HostPort(null, 0);
    }
}
