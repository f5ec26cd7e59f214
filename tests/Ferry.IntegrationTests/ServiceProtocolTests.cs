using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>discard, daytime and chargen as RFC 863, 867 and 864 describe them, with real peers.</summary>
public sealed class ServiceProtocolTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task DaytimeSendsOneLineWithTheCurrentTimeThenCloses()
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=daytime");

        var before = DateTimeOffset.Now.AddSeconds(-2);
        var result = await ToolRun.RunAsync(nc, ["127.0.0.1", ferryd.Port("daytime").ToString()], timeout: Generous);
        var after = DateTimeOffset.Now.AddSeconds(2);

        Assert.Equal(0, result.ExitCode);
        string text = result.StdoutText;
        Assert.EndsWith("\r\n", text);
        Assert.Single(text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries));
        var time = DateTimeOffset.ParseExact(text.TrimEnd(), "ddd, dd MMM yyyy HH:mm:ss zzz", CultureInfo.InvariantCulture);
        Assert.InRange(time, before, after);
    }

    [Fact]
    public async Task DiscardAnswersNothingAndClosesWhenThePeerDoes()
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=discard", "--log-level", "info");
        var input = new byte[1024 * 1024];
        new Random(7).NextBytes(input);

        var result = await ToolRun.RunAsync(nc, ["-N", "127.0.0.1", ferryd.Port("discard").ToString()], input, Generous);

        Assert.Equal(0, result.ExitCode);
        Assert.Empty(result.Stdout);
        await WaitForAsync(() => ferryd.Process.StandardError.Contains($"in {input.Length} B, out 0 B"),
            () => "close line with byte counts not logged: " + ferryd.Process.StandardError);
    }

    [Fact]
    public async Task ChargenSendsTheRotatingPattern()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=chargen");
        using var socket = await Loopback.ConnectAsync(ferryd.Port("chargen"));

        byte[] received = await Loopback.ReceiveAsync(socket, 74 * 200, Generous);
        string text = Encoding.ASCII.GetString(received);
        string[] lines = text.Split("\r\n");
        Assert.Equal(201, lines.Length); // 200 full lines and the empty rest
        for (int i = 0; i < 200; i++)
        {
            var expected = new StringBuilder();
            for (int c = 0; c < 72; c++)
                expected.Append((char)(' ' + (i + c) % 95));
            Assert.Equal(expected.ToString(), lines[i]);
        }
    }

    [Fact]
    public async Task ChargenToAReaderThatStopsCostsBoundedMemory()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", "127.0.0.1:0=chargen");
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                var socket = await Loopback.ConnectAsync(ferryd.Port("chargen"));
                socket.ReceiveBufferSize = 4096;
                sockets.Add(socket);
            }
            // Nobody reads: ferryd must stop producing once socket buffers and its own
            // per-connection pipe are full, instead of queueing pattern without end.
            await Task.Delay(1000, TestContext.Current.CancellationToken);
            long first = ProcessMemory.ResidentBytes(ferryd.Process.Pid);
            await Task.Delay(2000, TestContext.Current.CancellationToken);
            long later = ProcessMemory.ResidentBytes(ferryd.Process.Pid);
            Assert.True(later - first < 32L * 1024 * 1024,
                $"ferryd grew from {first / 1024} KiB to {later / 1024} KiB with 20 stalled chargen readers");

            // A stalled reader that resumes still gets a correct stream.
            byte[] data = await Loopback.ReceiveAsync(sockets[0], 74 * 10, Generous);
            Assert.StartsWith(" !\"#$%", Encoding.ASCII.GetString(data));
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    internal static async Task WaitForAsync(Func<bool> condition, Func<string> explain)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail(explain());
            await Task.Delay(50);
        }
    }
}
