using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>The sink service of a real ferryd: lines from many clients appended durably to one file.</summary>
public sealed partial class SinkTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [GeneratedRegex(@"^client-(\d\d) line-(\d{5}) [a-z]+$")]
    private static partial Regex NumberedLine();

    [Fact]
    public async Task TwentyClientsTimesTenThousandLinesAllLandExactlyOnceAfterSigterm()
    {
        const int clients = 20, lines = 10_000;
        using var dir = new TempDirectory();
        string path = dir.File("sink.log");
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=sink,path={path}", "--shutdown-timeout", "20");
        var sockets = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Loopback.ConnectAsync(ferryd.Port("sink"))));
        try
        {
            await Task.WhenAll(sockets.Select((socket, c) => Task.Run(async () =>
            {
                var text = new StringBuilder();
                for (int i = 0; i < lines; i++)
                    text.Append($"client-{c:D2} line-{i:D5} ").Append((char)('a' + c), 1 + (i * 7 + c) % 60).Append('\n');
                byte[] bytes = Encoding.ASCII.GetBytes(text.ToString());
                // Odd-sized writes, so lines are split across TCP segments and reads.
                var random = new Random(c);
                for (int at = 0; at < bytes.Length;)
                {
                    int size = Math.Min(random.Next(1, 3000), bytes.Length - at);
                    await Loopback.SendAllAsync(socket, bytes.AsMemory(at, size));
                    at += size;
                }
            }, Token)));

            // Right after the last byte is sent: the connections are still open, data in flight.
            ferryd.Process.Signal(Signals.SigTerm);
            Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }

        string[] written = await File.ReadAllLinesAsync(path, Token);
        Assert.True(clients * lines == written.Length,
            $"{written.Length} lines in the file; ferryd said:\n{ferryd.Process.StandardError}");
        var next = new int[clients];
        foreach (string line in written)
        {
            var match = NumberedLine().Match(line);
            Assert.True(match.Success, $"torn or mixed line in the file: '{line}'");
            int c = int.Parse(match.Groups[1].Value), i = int.Parse(match.Groups[2].Value);
            Assert.Equal(next[c], i);
            Assert.Equal(1 + (i * 7 + c) % 60, line.Length - line.LastIndexOf(' ') - 1);
            next[c]++;
        }
        Assert.All(next, n => Assert.Equal(lines, n));
        Assert.EndsWith("\n", await File.ReadAllTextAsync(path, Token));
    }

    [Fact]
    public async Task OverLongLineIsRefusedWithAnErrorAndNeverWritten()
    {
        using var dir = new TempDirectory();
        string discard = dir.File("discard.log"), close = dir.File("close.log");
        await using var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", $"127.0.0.1:0=sink,path={discard},maxLine=16",
            "--listen", $"127.0.0.1:0=sink,path={close},maxLine=16,overlong=close");

        using (var client = await LineClient.ConnectAsync(ferryd.Listeners[0].EndPoint.Port))
        {
            await client.SendAsync("short\n" + new string('x', 100_000) + "\nexactly-16-bytes\nafter\n");
            await client.ExpectAsync("! line too long (max 16 bytes); discarded");
            client.Socket.Shutdown(SocketShutdown.Send);
            Assert.Null(await client.ReadLineAsync());
        }
        using (var client = await LineClient.ConnectAsync(ferryd.Listeners[1].EndPoint.Port))
        {
            await client.SendAsync("short\n" + new string('y', 17) + "\nnever\n");
            await client.ExpectAsync("! line too long (max 16 bytes); closing");
            Assert.Null(await client.ReadLineAsync());
        }
        ferryd.Process.Signal(Signals.SigTerm);
        Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("short\nexactly-16-bytes\nafter\n", await File.ReadAllTextAsync(discard, Token));
        Assert.Equal("short\n", await File.ReadAllTextAsync(close, Token));
    }

    [Fact]
    public async Task InvalidUtf8AndNulArePassedThroughAsBytes_AndJsonLinesStayValid()
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        using var dir = new TempDirectory();
        string raw = dir.File("raw.log"), json = dir.File("json.jsonl");
        await using var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", $"127.0.0.1:0=sink,path={raw},fsync=always",
            "--listen", $"127.0.0.1:0=sink,path={json},prefix=json");
        byte[] input = [.. "nul\0inside\r\n"u8, 0xff, 0xc3, .. "bad utf8\n"u8, .. "caf\u00e9\n"u8, .. "partial last line"u8];

        foreach (var listener in ferryd.Listeners)
        {
            var run = await ToolRun.RunAsync(nc, ["-N", "127.0.0.1", listener.EndPoint.Port.ToString()], input);
            Assert.Equal(0, run.ExitCode);
        }
        ferryd.Process.Signal(Signals.SigTerm);
        Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        // Text mode: the bytes exactly (CRLF ends a line like LF), the unterminated last line completed.
        byte[] expected = [.. "nul\0inside\n"u8, 0xff, 0xc3, .. "bad utf8\n"u8, .. "caf\u00e9\npartial last line\n"u8];
        Assert.Equal(expected, await File.ReadAllBytesAsync(raw, Token));

        // JSON Lines: valid UTF-8 JSON, NUL escaped, invalid bytes replaced by U+FFFD.
        string[] records = await File.ReadAllLinesAsync(json, Token);
        Assert.Equal(4, records.Length);
        var texts = records.Select(r => JsonDocument.Parse(r).RootElement.GetProperty("line").GetString()).ToArray();
        Assert.Equal(["nul\0inside", "\uFFFD\uFFFDbad utf8", "caf\u00e9", "partial last line"], texts);
        Assert.Contains("\\u0000", records[0]);
        using var first = JsonDocument.Parse(records[0]);
        Assert.StartsWith("127.0.0.1:", first.RootElement.GetProperty("peer").GetString());
        Assert.True(DateTimeOffset.TryParse(first.RootElement.GetProperty("time").GetString(), out _));
    }

    [Fact]
    public async Task TimeAndPeerPrefixes()
    {
        using var dir = new TempDirectory();
        string path = dir.File("prefixed.log");
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=sink,path={path},prefix=time+peer");
        using var client = await Loopback.ConnectAsync(ferryd.Port("sink"));
        string peer = client.LocalEndPoint!.ToString()!;
        await Loopback.SendAllAsync(client, "hello sink\n"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);
        Assert.Empty(await Loopback.ReceiveToEndAsync(client, TimeSpan.FromSeconds(10)));
        ferryd.Process.Signal(Signals.SigTerm);
        Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        string line = (await File.ReadAllTextAsync(path, Token)).TrimEnd('\n');
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z " + Regex.Escape(peer) + " hello sink$", line);
    }

    [Fact]
    public async Task FullDiskIsReportedNothingIsTornAndWritingResumesWhenSpaceReturns()
    {
        using var dir = new TempDirectory();
        string mount = dir.File("small");
        Directory.CreateDirectory(mount);
        var mounted = await ToolRun.RunAsync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]);
        if (mounted.ExitCode != 0)
            Assert.Skip($"cannot mount a 64 KiB tmpfs here ({mounted.Stderr.Trim()}); the full-disk path is covered by SinkWriterTests with a failing file seam");
        try
        {
            string filler = Path.Combine(mount, "filler");
            await File.WriteAllBytesAsync(filler, new byte[48 * 1024], Token);
            string path = Path.Combine(mount, "sink.log");
            const int lineCount = 400, lineBytes = 100;
            string Line(int i) => $"line-{i:D5} ".PadRight(lineBytes - 1, 'z');

            await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=sink,path={path}");
            using var client = await LineClient.ConnectAsync(ferryd.Port("sink"));
            // The first hundred lines fit; then the disk fills.
            for (int i = 0; i < 100; i++)
                await client.SendLineAsync(Line(i));
            await ServiceProtocolTests.WaitForAsync(() => new FileInfo(path).Length == 100 * lineBytes,
                () => $"first lines not written: {new FileInfo(path).Length} bytes");
            var sending = Task.Run(async () =>
            {
                for (int i = 100; i < lineCount; i++)
                    await client.SendLineAsync(Line(i));
                // A half-closed client still hears about its lines: the sink answers before it closes.
                client.Socket.Shutdown(SocketShutdown.Send);
            }, Token);

            // The client is told, the log says why, and the file holds only whole lines.
            string error = await client.ExpectAsync(l => l.StartsWith("! sink: cannot write", StringComparison.Ordinal), "the disk-full error");
            Assert.Contains("No space left on device", error);
            await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("[ERR] sink: cannot write"),
                () => "no error in the log: " + ferryd.Process.StandardError);
            byte[] partial = await File.ReadAllBytesAsync(path, Token);
            Assert.InRange(partial.Length, 100 * lineBytes, (lineCount - 1) * lineBytes);
            Assert.Equal(0, partial.Length % lineBytes);
            string[] sofar = Encoding.ASCII.GetString(partial).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(Enumerable.Range(0, sofar.Length).Select(Line), sofar);

            // Space returns: the held lines and the rest are written, in order, exactly once.
            File.Delete(filler);
            await client.ExpectAsync("* sink: writing again");
            await sending.WaitAsync(TimeSpan.FromSeconds(30), Token);
            Assert.Null(await client.ReadLineAsync());
            ferryd.Process.Signal(Signals.SigTerm);
            Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal(Enumerable.Range(0, lineCount).Select(Line), await File.ReadAllLinesAsync(path, Token));
        }
        finally
        {
            await ToolRun.RunAsync("umount", ["-l", mount]);
        }
    }

    [Fact]
    public async Task SigusrOneReopensTheFileAfterRotation()
    {
        using var dir = new TempDirectory();
        string path = dir.File("sink.log");
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=sink,path={path},fsync=always");
        using var client = await LineClient.ConnectAsync(ferryd.Port("sink"));
        await client.SendLineAsync("before rotation");
        await ServiceProtocolTests.WaitForAsync(() => File.Exists(path) && new FileInfo(path).Length > 0, () => "first line never written");

        File.Move(path, path + ".1");
        ferryd.Process.Signal(Signals.SigUsr1);
        await Task.Delay(200, Token);
        await client.SendLineAsync("after rotation");
        await ServiceProtocolTests.WaitForAsync(() => File.Exists(path) && new FileInfo(path).Length > 0, () => "file not reopened");

        Assert.False(ferryd.Process.HasExited);
        Assert.Equal("before rotation\n", await File.ReadAllTextAsync(path + ".1", Token));
        Assert.Equal("after rotation\n", await File.ReadAllTextAsync(path, Token));
    }

    [Fact]
    public async Task MissingPathOptionIsAUsageError()
    {
        var run = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", "127.0.0.1:0=sink"]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("sink needs path=FILE", run.Stderr);
        // Well written, but naming a file this machine cannot give: exit 6 wherever written, as exec's missing program.
        run = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", "127.0.0.1:0=sink,path=/nonexistent-dir/x.log"]);
        Assert.Equal(6, run.ExitCode);
        Assert.Contains("cannot open /nonexistent-dir/x.log", run.Stderr);
    }
}
