using System.Net;
using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>
/// <c>ferry listen -u [ADDR:]PORT</c>. Without <c>--keep-open</c>, like <c>nc -lu</c>: the first
/// peer to send is the only one; the socket is connected to it, so others are no longer heard,
/// and the relay runs until a signal, or until the peer's port is found closed (the ICMP
/// answer to a datagram sent to it), which is an error like a reset. With <c>--keep-open</c>,
/// every peer is heard: see <see cref="AnyPeerDatagramRelay"/>. UDP has no end of
/// conversation, so the end of input only stops sending.
/// </summary>
internal static class UdpListenSession
{
    public static async Task<int> RunAsync(HostPort address, bool keepOpen, CancellationToken cancellationToken)
    {
        using Socket socket = await ListeningSocket.OpenDatagramAsync(address, cancellationToken);
        // stderr, because stdout carries nothing but the peers' datagrams.
        await Console.Error.WriteLineAsync($"listening {EndpointText.Format(socket.LocalEndPoint)}");
        Stream output = StandardStreams.OpenOutput();
        var input = new StdinDatagrams(StandardStreams.OpenInput());

        if (keepOpen)
        {
            await new AnyPeerDatagramRelay(socket, input, output).RunAsync(cancellationToken);
            return ExitCodes.Success;
        }

        byte[] first = new byte[DatagramRelay.ReceiveBufferSize];
        EndPoint anySender = socket.AddressFamily == AddressFamily.InterNetworkV6
            ? new IPEndPoint(IPAddress.IPv6Any, 0)
            : new IPEndPoint(IPAddress.Any, 0);
        SocketReceiveFromResult received;
        try
        {
            received = await socket.ReceiveFromAsync(first, SocketFlags.None, anySender, cancellationToken);
        }
        catch (SocketException exception)
        {
            throw new CommandFailedException($"receive failed: {SocketErrorText.Describe(exception)}");
        }
        string from = EndpointText.Format(received.RemoteEndPoint);
        await Console.Error.WriteLineAsync($"connection from {from}");
        socket.Connect(received.RemoteEndPoint);
        try
        {
            await output.WriteAsync(first.AsMemory(0, received.ReceivedBytes), cancellationToken);
        }
        catch (IOException exception)
        {
            throw new CommandFailedException($"cannot write to stdout: {exception.Message}");
        }

        try
        {
            await DatagramRelay.RunAsync(socket, input, output, QuietPeriod.Never(), cancellationToken);
        }
        catch (PeerConnectionException failure)
        {
            throw new CommandFailedException($"connection from {from}: {failure.Message}");
        }
        return ExitCodes.Success;
    }
}
