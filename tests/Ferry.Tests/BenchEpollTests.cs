using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Ferry.Tests;

/// <summary>
/// The epoll engine's own pieces against real loopback sockets: the socket addresses it
/// builds, and one echo exchange checked byte by byte, including a corrupt and a cut-off echo.
/// </summary>
public sealed class BenchEpollTests
{
    private const int MessageSize = 64;

    [Fact]
    public void AnIPv4AddressIsASockaddrIn()
    {
        byte[] address = NativeSocket.AddressOf(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 7001));

        Assert.Equal(16, address.Length);
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(address));
        Assert.Equal(7001, BinaryPrimitives.ReadUInt16BigEndian(address.AsSpan(2)));
        Assert.Equal(new byte[] { 127, 0, 0, 2 }, address[4..8]);
        Assert.All(address[8..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void AnIPv6AddressIsASockaddrIn6()
    {
        byte[] address = NativeSocket.AddressOf(new IPEndPoint(IPAddress.IPv6Loopback, 443));

        Assert.Equal(28, address.Length);
        Assert.Equal(10, BinaryPrimitives.ReadUInt16LittleEndian(address));
        Assert.Equal(443, BinaryPrimitives.ReadUInt16BigEndian(address.AsSpan(2)));
        Assert.Equal(IPAddress.IPv6Loopback.GetAddressBytes(), address[8..24]);
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(10, 1)]
    public async Task AnExchangeChecksEveryEchoedByte(int flipAt, int expectedCorrupt)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the epoll engine is Linux only");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task peer = EchoOnceAsync(listener, flipAt, closeInstead: false);

        ExchangeStep step = RunOneExchange(listener, out int corruptBytes);
        await peer.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.Equal(ExchangeStep.Echoed, step);
        Assert.Equal(expectedCorrupt, corruptBytes);
    }

    [Fact]
    public async Task AServerThatClosesInsteadOfEchoingIsReported()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the epoll engine is Linux only");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task peer = EchoOnceAsync(listener, flipAt: -1, closeInstead: true);

        ExchangeStep step = RunOneExchange(listener, out _);
        await peer.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.Equal(ExchangeStep.PeerClosed, step);
    }

    /// <summary>Connects, sends one message and waits (bounded) until the exchange ends one way or another.</summary>
    private static ExchangeStep RunOneExchange(TcpListener listener, out int corruptBytes)
    {
        var pattern = new PayloadPattern(MessageSize);
        using var epoll = new EpollSet(4);
        var settings = new BenchSettings("127.0.0.1", (IPEndPoint)listener.LocalEndpoint, BenchMode.PingPong, 1,
            TimeSpan.FromSeconds(1), TimeSpan.Zero, MessageSize, null, null);
        var exchange = new EpollConnection(index: 5);
        exchange.Attach(new EpollConnector(settings, epoll).Connect(0), Ferry.Platform.Linux.Epoll.In);
        try
        {
            exchange.BeginMessage(MessageSize, 0);
            Assert.True(exchange.TrySend(pattern, MessageSize));
            Assert.False(exchange.SendPending);
            var buffer = new byte[MessageSize];
            var giveUp = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < giveUp)
            {
                if (epoll.Wait(100) == 0)
                    continue;
                ExchangeStep step = exchange.Receive(pattern, buffer, int.MaxValue);
                if (step != ExchangeStep.Waiting)
                {
                    corruptBytes = exchange.TakeCorruptBytes();
                    return step;
                }
            }
            corruptBytes = exchange.TakeCorruptBytes();
            return ExchangeStep.Waiting;
        }
        finally
        {
            exchange.Close();
        }
    }

    private static async Task EchoOnceAsync(TcpListener listener, int flipAt, bool closeInstead)
    {
        using Socket socket = await listener.AcceptSocketAsync();
        var buffer = new byte[MessageSize];
        int received = 0;
        while (received < MessageSize)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None);
            if (n == 0)
                return;
            received += n;
        }
        if (closeInstead)
            return;
        if (flipAt >= 0)
            buffer[flipAt] ^= 0xFF;
        await socket.SendAsync(buffer, SocketFlags.None);
        // Wait for the client's close so the echo is never cut by a reset.
        await socket.ReceiveAsync(new byte[1], SocketFlags.None);
    }
}
