using System.Net;
using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>
/// Relays between the operator and one UDP peer the socket is connected to: each input
/// datagram is sent as one datagram, each datagram received is written to the output as it
/// arrives, whole, so boundaries hold both ways.
/// </summary>
internal static class DatagramRelay
{
    /// <summary>Large enough for any UDP payload (65,527 bytes over IPv6), so none is cut.</summary>
    public const int ReceiveBufferSize = 64 * 1024;

    /// <summary>
    /// Returns when <paramref name="quiet"/> says the exchange is over. Throws
    /// <see cref="PeerConnectionException"/> when the socket fails (ECONNREFUSED: the peer's
    /// port is closed), and <see cref="CommandFailedException"/> when reading the input or
    /// writing the output fails.
    /// </summary>
    public static async Task RunAsync(Socket socket, StdinDatagrams input, Stream output, QuietPeriod quiet, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            Task download = ReceiveAsync(socket, output, quiet, stop.Token);
            // Task.Run because a console read may block synchronously inside ReadAsync.
            Task upload = Task.Run(() => SendAsync(socket, input, quiet, stop.Token), stop.Token);
            Task over = quiet.WaitAsync(stop.Token);
            var running = new List<Task> { download, upload, over };
            while (true)
            {
                // WaitAsync because a stdout write blocked on a full pipe ignores cancellation.
                Task first = await Task.WhenAny(running).WaitAsync(cancellationToken);
                if (first == over)
                {
                    await over;
                    return;
                }
                if (first == upload && upload.IsCompletedSuccessfully)
                {
                    // End of input: replies may still come, until the exchange has been quiet.
                    running.Remove(upload);
                    continue;
                }
                await first;
            }
        }
        finally
        {
            // A pending read of stdin cannot be cancelled; the process ends without waiting for it.
            await stop.CancelAsync();
        }
    }

    private static async Task ReceiveAsync(Socket socket, Stream output, QuietPeriod quiet, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[ReceiveBufferSize];
        EndPoint peer = socket.RemoteEndPoint ?? throw new InvalidOperationException("the UDP socket is not connected");
        EndPoint anySender = peer.AddressFamily == AddressFamily.InterNetworkV6
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
                throw new PeerConnectionException(SocketErrorText.Describe(exception), exception.SocketErrorCode);
            }
            // A socket bound before it was connected (ferry listen -u) may still hold datagrams
            // other peers sent before it was: they are not this exchange's.
            if (!received.RemoteEndPoint.Equals(peer))
                continue;
            quiet.OutputStarted();
            try
            {
                await output.WriteAsync(buffer.AsMemory(0, received.ReceivedBytes), cancellationToken);
            }
            catch (IOException exception)
            {
                throw new CommandFailedException($"cannot write to stdout: {exception.Message}");
            }
            finally
            {
                quiet.OutputDone();
            }
        }
    }

    private static async Task SendAsync(Socket socket, StdinDatagrams input, QuietPeriod quiet, CancellationToken cancellationToken)
    {
        while (await NextAsync(input, cancellationToken) is ReadOnlyMemory<byte> datagram)
        {
            try
            {
                await socket.SendAsync(datagram, SocketFlags.None, cancellationToken);
            }
            catch (SocketException exception)
            {
                throw new PeerConnectionException(SocketErrorText.Describe(exception), exception.SocketErrorCode);
            }
            quiet.DatagramSent();
        }
        quiet.InputEnded();
    }

    /// <summary>The next input datagram; a failure to read the input is the command's, phrased here.</summary>
    public static async ValueTask<ReadOnlyMemory<byte>?> NextAsync(StdinDatagrams input, CancellationToken cancellationToken)
    {
        try
        {
            return await input.NextAsync(cancellationToken);
        }
        catch (IOException exception)
        {
            throw new CommandFailedException($"reading stdin: {exception.Message}");
        }
    }
}
