using System.Net;
using System.Net.Sockets;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>
/// Client sockets that come from a chosen loopback address (127.0.0.2, 127.0.0.3, ...):
/// bound before connecting, so ferryd sees different sources without leaving the machine.
/// </summary>
internal static class SourceBoundSocket
{
    public static readonly IPAddress Second = IPAddress.Parse("127.0.0.2");
    public static readonly IPAddress Third = IPAddress.Parse("127.0.0.3");

    public static async Task<Socket> ConnectAsync(IPAddress source, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="probe"/> and expects it back: the connection is served by echo.</summary>
    public static async Task<bool> EchoesAsync(Socket socket, string probe = "ping")
    {
        try
        {
            await Loopback.SendAllAsync(socket, System.Text.Encoding.ASCII.GetBytes(probe));
            byte[] back = await Loopback.ReceiveAsync(socket, probe.Length, TimeSpan.FromSeconds(15));
            return System.Text.Encoding.ASCII.GetString(back) == probe;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Everything the server sends until it closes (a refused client gets a close, maybe after one line).</summary>
    public static async Task<string> ReadUntilClosedAsync(Socket socket)
    {
        try
        {
            return System.Text.Encoding.ASCII.GetString(await Loopback.ReceiveToEndAsync(socket, TimeSpan.FromSeconds(15)));
        }
        catch (SocketException)
        {
            return ""; // reset: closed all the same
        }
    }
}
