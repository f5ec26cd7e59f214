using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>Opens the outgoing connection of <c>ferry HOST PORT</c>.</summary>
internal static class TcpConnector
{
    /// <summary>
    /// Resolves <paramref name="host"/> and tries each address in turn, each attempt limited
    /// to <paramref name="timeoutSeconds"/>. Failures become <see cref="CommandFailedException"/>
    /// naming the host as the user typed it; when every address fails, the last failure is
    /// reported.
    /// </summary>
    public static async Task<Socket> ConnectAsync(
        string host, int port, double timeoutSeconds, CancellationToken cancellationToken)
    {
        IPAddress[] addresses = await HostLookup.ResolveForConnectAsync(host, cancellationToken);

        string failure = string.Empty;
        foreach (IPAddress address in addresses)
        {
            Socket socket;
            try
            {
                socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            }
            catch (SocketException exception)
            {
                // e.g. an IPv6 answer on a host without IPv6: the next address may still work.
                failure = $"connect to {host} port {port}: {SocketErrorText.Describe(exception)}";
                continue;
            }

            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), attempt.Token);
                // Interactive lines should leave at once rather than wait for Nagle's timer;
                // bulk transfers write 64 KiB chunks, so they lose nothing by it.
                socket.NoDelay = true;
                return socket;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                string seconds = timeoutSeconds.ToString(CultureInfo.InvariantCulture);
                failure = $"connect to {host} port {port}: timed out after {seconds} s";
            }
            catch (SocketException exception)
            {
                socket.Dispose();
                failure = $"connect to {host} port {port}: {SocketErrorText.Describe(exception)}";
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw new CommandFailedException(failure);
    }
}
