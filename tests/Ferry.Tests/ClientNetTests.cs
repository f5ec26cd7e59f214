using System.Net;
using System.Net.Sockets;
using Ferry.Client.Net;
using Ferry.Protocol;

namespace Ferry.Tests;

public sealed class HostPortTests
{
    [Theory]
    [InlineData("8080", null, 8080)]
    [InlineData("0", null, 0)]
    [InlineData("65535", null, 65535)]
    [InlineData("127.0.0.1:80", "127.0.0.1", 80)]
    [InlineData("[::1]:80", "::1", 80)]
    [InlineData("[::]:0", "::", 0)]
    [InlineData("localhost:0", "localhost", 0)]
    [InlineData("my-host_1.example:443", "my-host_1.example", 443)]
    public void Parses(string text, string? host, int port)
    {
        Assert.True(HostPort.TryParse(text, out var address, out string error), error);
        Assert.Equal(host, address.Host);
        Assert.Equal(port, address.Port);
        Assert.Equal(string.Empty, error);
    }

    [Theory]
    [InlineData("8080", "8080")]
    [InlineData("127.0.0.1:80", "127.0.0.1:80")]
    [InlineData("[::1]:80", "[::1]:80")]
    public void FormatsBack(string text, string expected)
    {
        Assert.True(HostPort.TryParse(text, out var address, out _));
        Assert.Equal(expected, address.ToString());
    }

    [Theory]
    [InlineData("::1:80", "put an IPv6 address in brackets")]
    [InlineData("fe80::1", "put an IPv6 address in brackets")]
    [InlineData("70000", "invalid port '70000' (must be 0-65535)")]
    [InlineData("65536", "invalid port '65536'")]
    [InlineData("x", "invalid port 'x'")]
    [InlineData("", "invalid port ''")]
    [InlineData("-1", "invalid port '-1'")]
    [InlineData("+80", "invalid port '+80'")]
    [InlineData(" 80", "invalid port ' 80'")]
    [InlineData("localhost:", "invalid port ''")]
    [InlineData(":80", "missing address before ':'")]
    [InlineData("bad host:80", "invalid address 'bad host'")]
    [InlineData("user@host:80", "invalid address 'user@host'")]
    [InlineData("[::1]80", "missing ':PORT' after '[::1]'")]
    [InlineData("[::1]", "missing ':PORT' after '[::1]'")]
    [InlineData("[::1:80", "missing ']'")]
    [InlineData("[zz]:80", "invalid IPv6 address '[zz]'")]
    [InlineData("[127.0.0.1]:80", "invalid IPv6 address '[127.0.0.1]'")]
    public void Rejects(string text, string message)
    {
        Assert.False(HostPort.TryParse(text, out var address, out string error));
        Assert.Null(address);
        Assert.Contains(message, error);
    }
}

public sealed class SocketPumpTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>A connected pair of loopback TCP sockets.</summary>
    private static async Task<(Socket Left, Socket Right)> ConnectedPairAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var left = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accepting = listener.AcceptSocketAsync(Token).AsTask();
        await left.ConnectAsync((IPEndPoint)listener.LocalEndpoint, Token);
        var right = await accepting.WaitAsync(Timeout, Token);
        return (left, right);
    }

    private static async Task<byte[]> ReceiveToEndAsync(Socket socket)
    {
        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, Token).AsTask().WaitAsync(Timeout, Token);
            if (n == 0)
                return received.ToArray();
            received.Write(buffer, 0, n);
        }
    }

    [Fact]
    public async Task CopyToSocket_SendsEverything_ThenHalfCloses()
    {
        var (left, right) = await ConnectedPairAsync();
        using (left)
        using (right)
        {
            var data = new byte[1024 * 1024];
            new Random(11).NextBytes(data);

            var receiving = ReceiveToEndAsync(right);
            long sent = await SocketPump.CopyToPeerAsync(new MemoryStream(data), PeerConnection.Plain(left), Token).WaitAsync(Timeout, Token);

            Assert.Equal(data.Length, sent);
            // The peer sees every byte, then end of stream (FIN).
            Assert.Equal(data, await receiving);

            // Only the sending side was shut down: the pump's socket still receives replies.
            byte[] reply = "reply after EOF"u8.ToArray();
            await PeerConnection.Plain(right).SendAllAsync(reply, Token);
            right.Shutdown(SocketShutdown.Send);
            Assert.Equal(reply, await ReceiveToEndAsync(left));
        }
    }

    [Fact]
    public async Task CopyToSocket_EmptySource_JustHalfCloses()
    {
        var (left, right) = await ConnectedPairAsync();
        using (left)
        using (right)
        {
            Assert.Equal(0, await SocketPump.CopyToPeerAsync(new MemoryStream(), PeerConnection.Plain(left), Token).WaitAsync(Timeout, Token));
            Assert.Empty(await ReceiveToEndAsync(right));
        }
    }

    [Fact]
    public async Task CopyFromSocket_CopiesUntilPeerCloses()
    {
        var (left, right) = await ConnectedPairAsync();
        using (left)
        using (right)
        {
            var data = new byte[300_000];
            new Random(12).NextBytes(data);
            using var destination = new MemoryStream();

            var copying = SocketPump.CopyFromPeerAsync(PeerConnection.Plain(right), destination, Token);
            foreach (var chunk in Sequences.RandomChunks(data, new Random(13), 50_000))
                await PeerConnection.Plain(left).SendAllAsync(chunk, Token);
            Assert.False(copying.IsCompleted, "the copy must go on until the peer closes");
            left.Shutdown(SocketShutdown.Send);

            Assert.Equal(data.Length, await copying.WaitAsync(Timeout, Token));
            Assert.Equal(data, destination.ToArray());
        }
    }

    [Fact]
    public async Task CopyFromSocket_WaitsForPeerClose_NotForData()
    {
        var (left, right) = await ConnectedPairAsync();
        using (left)
        using (right)
        {
            using var destination = new MemoryStream();
            var copying = SocketPump.CopyFromPeerAsync(PeerConnection.Plain(right), destination, Token);
            await PeerConnection.Plain(left).SendAllAsync("abc"u8.ToArray(), Token);
            await WaitUntilAsync(() => destination.Length == 3);
            Assert.False(copying.IsCompleted, "the copy must go on until the peer closes");

            left.Close();
            Assert.Equal(3, await copying.WaitAsync(Timeout, Token));
            Assert.Equal("abc"u8.ToArray(), destination.ToArray());
        }
    }

    [Fact]
    public async Task CopyFromSocket_Cancelled_Throws()
    {
        var (left, right) = await ConnectedPairAsync();
        using (left)
        using (right)
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
            var copying = SocketPump.CopyFromPeerAsync(PeerConnection.Plain(right), Stream.Null, cancel.Token);
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => copying.WaitAsync(Timeout, Token));
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5, Token);
        }
    }
}

public sealed class TlsErrorTextTests
{
    [Theory]
    [InlineData("error:0A000418:SSL routines::tlsv1 alert unknown ca", "server", "the server sent TLS alert 'unknown ca'")]
    [InlineData("error:0A00045C:SSL routines::tlsv13 alert certificate required", "server", "the server sent TLS alert 'certificate required'")]
    [InlineData("error:0A000412:SSL routines::sslv3 alert bad certificate", "client", "the client sent TLS alert 'bad certificate'")]
    [InlineData("The remote certificate is invalid.", "server", "the remote certificate is invalid")]
    public void NamesThePeersAlertOrFallsBackToTheInnermostMessage(string innermost, string role, string expected)
    {
        // As .NET nests them: the OpenSSL text is the innermost exception's message.
        var exception = new IOException("The decryption operation failed, see inner exception.", new Exception(innermost));
        Assert.Equal(expected, TlsErrorText.Describe(exception, role));
    }
}
