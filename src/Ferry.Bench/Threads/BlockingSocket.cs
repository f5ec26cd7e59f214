using System.Net;
using System.Net.Sockets;

namespace Ferry.Bench.Threads;

/// <summary>
/// The threads engine's socket calls: plain blocking <see cref="Socket"/> methods. A socket
/// that never sees an async call keeps a blocking descriptor, so each of these is one blocking
/// system call, as in ferry, socat or a C client.
/// </summary>
internal static class BlockingSocket
{
    /// <summary>
    /// A new socket for <paramref name="target"/>, not connected yet: TCP with Nagle off (small
    /// messages must leave at once), a Unix stream socket, or with <paramref name="transport"/>
    /// UDP a datagram socket.
    /// </summary>
    public static Socket Create(EndPoint target, BenchTransport transport) => transport switch
    {
        BenchTransport.Udp => new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp),
        BenchTransport.Unix => new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified),
        _ => new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true },
    };

    /// <summary>A connected socket (UDP: one that sends to and receives from <paramref name="target"/> only).</summary>
    public static Socket Connect(EndPoint target, BenchTransport transport)
    {
        Socket socket = Create(target, transport);
        try
        {
            socket.Connect(target);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Shuts the socket down both ways, which returns every call blocked on it; errors mean it is closed or unconnected already.</summary>
    public static void Abort(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
        }
    }

    public static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
            data = data[socket.Send(data)..];
    }

    /// <summary>One message and its echo: sends <paramref name="length"/> bytes of the stream and receives and checks their echo (see <see cref="ReceiveEcho"/>).</summary>
    public static int Exchange(Socket socket, byte[] buffer, int length, PayloadPattern pattern, int seed, long streamOffset)
    {
        SendAll(socket, pattern.Slice(seed, streamOffset, length).Span);
        return ReceiveEcho(socket, buffer, length, pattern, seed, streamOffset);
    }

    /// <summary>
    /// Receives exactly <paramref name="length"/> echoed bytes into <paramref name="buffer"/>,
    /// checking each piece against the pattern as it arrives. Returns the number of corrupt
    /// bytes, or -1 when the server closed the connection first.
    /// </summary>
    public static int ReceiveEcho(Socket socket, byte[] buffer, int length, PayloadPattern pattern, int seed, long streamOffset)
    {
        int received = 0;
        int corrupt = 0;
        while (received < length)
        {
            int n = socket.Receive(buffer, 0, Math.Min(length - received, buffer.Length), SocketFlags.None);
            if (n == 0)
                return -1;
            corrupt += pattern.CountMismatches(seed, streamOffset + received, buffer.AsSpan(0, n));
            received += n;
        }
        return corrupt;
    }
}
