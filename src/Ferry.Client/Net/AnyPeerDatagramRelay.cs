using System.Net;
using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>
/// <c>ferry listen -u --keep-open</c>: every peer's datagrams go to the output, and each input
/// datagram goes to the latest peer, the one that sent last (a reply goes where the last
/// question came from, and a peer that falls silent stops receiving once another speaks).
/// Each change of latest peer is announced on stderr as <c>connection from ADDR:PORT</c>,
/// which costs no memory per peer, however many there are.
/// </summary>
/// <remarks>
/// The socket stays unconnected, so it takes datagrams from anyone; the kernel reports no ICMP
/// errors for such a socket, so a peer that has gone is simply not heard from again.
/// </remarks>
internal sealed class AnyPeerDatagramRelay(Socket socket, StdinDatagrams input, Stream output)
{
    private readonly TaskCompletionSource<EndPoint> _firstPeer = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private EndPoint? _latest;

    /// <summary>
    /// Runs until cancelled. Throws <see cref="CommandFailedException"/> when reading the
    /// input, writing the output or receiving fails; a datagram that cannot be sent to a peer
    /// is reported on stderr and the relay goes on.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            Task download = ReceiveAsync(stop.Token);
            // Task.Run because a console read may block synchronously inside ReadAsync.
            Task upload = Task.Run(() => SendAsync(stop.Token), stop.Token);
            var running = new List<Task> { download, upload };
            while (true)
            {
                // WaitAsync because a stdout write blocked on a full pipe ignores cancellation.
                Task first = await Task.WhenAny(running).WaitAsync(cancellationToken);
                if (first == upload && upload.IsCompletedSuccessfully)
                {
                    // End of input: peers are still heard.
                    running.Remove(upload);
                    continue;
                }
                await first;
            }
        }
        finally
        {
            await stop.CancelAsync();
        }
    }

    private async Task ReceiveAsync(CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[DatagramRelay.ReceiveBufferSize];
        EndPoint anySender = socket.AddressFamily == AddressFamily.InterNetworkV6
            ? new IPEndPoint(IPAddress.IPv6Any, 0)
            : new IPEndPoint(IPAddress.Any, 0);
        while (true)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, anySender, cancellationToken);
            }
            catch (SocketException exception)
            {
                throw new CommandFailedException($"receive failed: {SocketErrorText.Describe(exception)}");
            }
            EndPoint sender = received.RemoteEndPoint;
            if (!sender.Equals(Volatile.Read(ref _latest)))
            {
                Volatile.Write(ref _latest, sender);
                _firstPeer.TrySetResult(sender);
                await Console.Error.WriteLineAsync($"connection from {EndpointText.Format(sender)}");
            }
            try
            {
                await output.WriteAsync(buffer.AsMemory(0, received.ReceivedBytes), cancellationToken);
            }
            catch (IOException exception)
            {
                throw new CommandFailedException($"cannot write to stdout: {exception.Message}");
            }
        }
    }

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        // Input is not read before there is someone to send it to, so nothing typed is lost.
        await _firstPeer.Task.WaitAsync(cancellationToken);
        while (await DatagramRelay.NextAsync(input, cancellationToken) is ReadOnlyMemory<byte> datagram)
        {
            EndPoint peer = Volatile.Read(ref _latest)!;
            try
            {
                await socket.SendToAsync(datagram, SocketFlags.None, peer, cancellationToken);
            }
            catch (SocketException exception)
            {
                await Console.Error.WriteLineAsync($"ferry: sending to {EndpointText.Format(peer)}: {SocketErrorText.Describe(exception)}");
            }
        }
    }
}
