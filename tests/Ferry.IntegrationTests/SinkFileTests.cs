using System.Text;
using System.Text.Json;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// The sink appends: two listeners on one file, a truncation and another process appending
/// never cost a line or leave a hole; and with ack= a client learns when its lines are in the file.
/// </summary>
public sealed class SinkFileTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static async Task SendLinesAsync(int port, IEnumerable<string> lines, bool halfClose = true)
    {
        using var client = await LineClient.ConnectAsync(port);
        await client.SendAsync(string.Concat(lines.Select(l => l + "\n")));
        if (halfClose)
        {
            client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            Assert.Null(await client.ReadLineAsync());
        }
    }

    private static async Task WaitForLinesAsync(string path, int count) =>
        await ServiceProtocolTests.WaitForAsync(() => File.Exists(path) && File.ReadAllLines(path).Length >= count,
            () => $"{(File.Exists(path) ? File.ReadAllLines(path).Length : 0)} of {count} lines in {path}");

    [Fact]
    public async Task TwoListenersOnOneFileShareItLineByLine()
    {
        using var dir = new TempDirectory();
        string path = dir.File("shared.jsonl");
        await using var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", $"127.0.0.1:0=sink,path={path},prefix=json", "--listen", $"127.0.0.2:0=sink,path={path},prefix=json");
        var sending = ferryd.Listeners.Select((listener, n) => Task.Run(async () =>
        {
            using var client = await LineClient.ConnectAsync(listener.EndPoint);
            await client.SendAsync(string.Concat(Enumerable.Range(0, 5000).Select(i => $"listener {n} line {i} " + new string('x', i % 300) + "\n")));
            client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            Assert.Null(await client.ReadLineAsync());
        }, Token)).ToArray();
        await Task.WhenAll(sending);
        await WaitForLinesAsync(path, 10_000);

        string[] lines = await File.ReadAllLinesAsync(path, Token);
        Assert.Equal(10_000, lines.Length);
        foreach (string line in lines)
            Assert.StartsWith("listener ", JsonDocument.Parse(line).RootElement.GetProperty("line").GetString());
    }

    [Fact]
    public async Task ATruncatedFileGetsTheNextLinesAtItsNewEndWithoutAHole()
    {
        using var dir = new TempDirectory();
        string path = dir.File("truncated.log");
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=sink,path={path}");
        await SendLinesAsync(ferryd.Port("sink"), Enumerable.Range(0, 100).Select(i => $"before {i}"));
        await WaitForLinesAsync(path, 100);

        using (var truncate = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            truncate.SetLength(0); // as logrotate's copytruncate does
        await SendLinesAsync(ferryd.Port("sink"), Enumerable.Range(0, 10).Select(i => $"after {i}"));
        await WaitForLinesAsync(path, 10);

        byte[] bytes = await File.ReadAllBytesAsync(path, Token);
        Assert.DoesNotContain((byte)0, bytes);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"after {i}"), await File.ReadAllLinesAsync(path, Token));
    }

    [Fact]
    public async Task ALineAnotherProcessAppendsIsNotOverwritten()
    {
        using var dir = new TempDirectory();
        string path = dir.File("mixed.log");
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=sink,path={path}");
        await SendLinesAsync(ferryd.Port("sink"), ["from ferryd 1"]);
        await WaitForLinesAsync(path, 1);

        await File.AppendAllTextAsync(path, "from someone else\n", Token);
        await SendLinesAsync(ferryd.Port("sink"), ["from ferryd 2"]);
        await WaitForLinesAsync(path, 3);

        Assert.Equal(["from ferryd 1", "from someone else", "from ferryd 2"], await File.ReadAllLinesAsync(path, Token));
    }

    [Fact]
    public async Task WithAckOnAHalfClosedClientIsToldItsLinesAreWritten()
    {
        using var dir = new TempDirectory();
        string path = dir.File("acked.log");
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=sink,path={path},ack=on,fsync=always");
        using var client = await LineClient.ConnectAsync(ferryd.Port("sink"));
        await client.SendAsync(string.Concat(Enumerable.Range(0, 250).Select(i => $"line {i}\n")));
        client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);

        Assert.Equal("* 250 lines written", await client.ReadLineAsync());
        // When the acknowledgement arrives, the lines are in the file.
        Assert.Equal(250, (await File.ReadAllLinesAsync(path, Token)).Length);
        Assert.Null(await client.ReadLineAsync());
    }

    [Fact]
    public async Task WithAckEveryNLinesTheClientHearsAsItGoes()
    {
        using var dir = new TempDirectory();
        string path = dir.File("acked.log");
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=sink,path={path},ack=100");
        using var client = await LineClient.ConnectAsync(ferryd.Port("sink"));
        await client.SendAsync(string.Concat(Enumerable.Range(0, 250).Select(i => $"line {i}\n")));
        Assert.Equal("* 100 lines written", await client.ReadLineAsync());
        Assert.Equal("* 200 lines written", await client.ReadLineAsync());
        client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        Assert.Equal("* 250 lines written", await client.ReadLineAsync());
        Assert.Null(await client.ReadLineAsync());
    }
}
