using System.Net.Sockets;
using Ferry.Bench.Async;

namespace Ferry.Bench.Datagrams;

/// <summary>
/// UDP has no connect to fail, so before a <c>--udp</c> run one datagram is sent on a socket of
/// its own and its echo waited for, for one loss timeout: an ICMP "port unreachable" (nothing
/// listens) ends the run there with one line, as a refused TCP connect does. An echo, or
/// silence (a server that drops, or answers late), lets the run start; its loss is counted then.
/// </summary>
internal static class DatagramProbe
{
    public static async Task CheckAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        using var socket = new Socket(settings.Target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.LossTimeout);
        try
        {
            await socket.ConnectAsync(settings.Target, cancellationToken);
            await socket.SendAsync(new byte[settings.MessageSize], SocketFlags.None, cancellationToken);
            await socket.ReceiveAsync(new byte[64 * 1024], SocketFlags.None, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
        catch (SocketException exception)
        {
            throw settings.ConnectFailed(BenchSocket.Describe(exception));
        }
    }
}
