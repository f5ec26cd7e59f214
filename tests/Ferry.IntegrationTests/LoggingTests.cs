using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>Levelled logging to one file or a file per level; peer text can never forge a line.</summary>
public sealed class LoggingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ferry-logs-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task LogDirGetsOneFilePerLevelAndForgedLinesAreEscaped()
    {
        await using (var ferryd = await FerrydProcess.StartEchoAsync("--log-dir", _directory, "--log-level", "debug"))
        {
            using var client = await Loopback.ConnectAsync(ferryd.Port());
            // A hostile client tries to start a fake log line and recolour the terminal.
            byte[] forged = Encoding.UTF8.GetBytes("hello\nbye\r2026-01-01 00:00:00.000 +00:00 [FTL] forged \u001b[31mred\n");
            await Loopback.SendAllAsync(client, forged);
            await Loopback.ReceiveAsync(client, forged.Length, TimeSpan.FromSeconds(10));
            client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            await Loopback.ReceiveToEndAsync(client, TimeSpan.FromSeconds(10));
            ferryd.Process.Signal(Signals.SigTerm);
            Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        }

        string debug = await File.ReadAllTextAsync(Path.Combine(_directory, "ferryd.debug.log"), TestContext.Current.CancellationToken);
        string info = await File.ReadAllTextAsync(Path.Combine(_directory, "ferryd.info.log"), TestContext.Current.CancellationToken);
        Assert.False(File.Exists(Path.Combine(_directory, "ferryd.error.log")), "no error happened, yet an error log exists");

        Assert.Contains("[DBG] client 127.0.0.1:", debug);
        Assert.Contains(" says: hello\n", debug);
        Assert.Contains(@" says: bye\r2026-01-01 00:00:00.000 +00:00 [FTL] forged \x1b[31mred", debug);
        Assert.DoesNotContain('\u001b', debug);
        foreach (string line in debug.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            Assert.Contains(" [DBG] ", line);
        Assert.DoesNotContain("[DBG]", info);
        // The open line is Debug's; Info has the close line, which names everything it does.
        Assert.Contains("[DBG] open 127.0.0.1:", debug);
        Assert.DoesNotContain("] open ", info);
        Assert.Matches(@"\[INF\] close 127\.0\.0\.1:\d+ on echo 127\.0\.0\.1:\d+ \[\w+\]: peer closed, in \d+ B, out \d+ B, \d+ ms", info);
    }

    [Fact]
    public async Task ALogFileThatCannotBeWrittenCostsItsLinesNotTheService()
    {
        // /dev/full takes the open and refuses every write with ENOSPC, as a full disk does.
        await using var ferryd = await FerrydProcess.StartEchoAsync("--log-file", "/dev/full", "--log-level", "debug");
        for (int i = 0; i < 20; i++)
        {
            using var client = await Loopback.ConnectAsync(ferryd.Port());
            await Loopback.SendAllAsync(client, "still here\n"u8.ToArray());
            Assert.Equal("still here\n"u8.ToArray(), await Loopback.ReceiveAsync(client, 11, TimeSpan.FromSeconds(10)));
        }
        ferryd.Process.Signal(Signals.SigTerm);
        Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        // Said once for the whole episode, naming the file and the cause; no stack trace.
        string said = Assert.Single(ferryd.Process.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("ferryd: cannot write log file /dev/full: no space left on device; log lines are lost until it can", said);
    }

    [Fact]
    public async Task LogFileGetsEveryLevelAtOrAboveTheChosenOne()
    {
        string path = Path.Combine(_directory, "sub", "ferryd.log");
        await using (var ferryd = await FerrydProcess.StartEchoAsync("--log-file", path, "--log-level", "info"))
        {
            using (var client = await Loopback.ConnectAsync(ferryd.Port()))
            {
                await Loopback.SendAllAsync(client, "quiet\n"u8.ToArray());
                await Loopback.ReceiveAsync(client, 6, TimeSpan.FromSeconds(10));
            }
            await ServiceProtocolTests.WaitForAsync(() => File.Exists(path) && ReadShared(path).Contains("] close "),
                () => "no close line in " + path);
            ferryd.Process.Signal(Signals.SigTerm);
            Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(15)));
            Assert.Empty(ferryd.Process.StandardError);
        }

        string log = ReadShared(path);
        Assert.Contains("[INF] listening echo 127.0.0.1:", log);
        Assert.DoesNotContain("] open ", log);
        Assert.Contains("in 6 B, out 6 B", log);
        Assert.DoesNotContain("says:", log);
        Assert.Contains("[INF] stopped", log);
    }

    [Fact]
    public async Task OpenLinesPutEachConnectionsOpenLineAtInfo()
    {
        string config = Path.Combine(_directory, "ferryd.json");
        await File.WriteAllTextAsync(config, """{ "Logging": { "OpenLines": true } }""", TestContext.Current.CancellationToken);
        await using var ferryd = await FerrydProcess.StartEchoAsync("--config", config);
        using (var client = await Loopback.ConnectAsync(ferryd.Port()))
        {
            await Loopback.SendAllAsync(client, "seen\n"u8.ToArray());
            await Loopback.ReceiveAsync(client, 5, TimeSpan.FromSeconds(10));
        }
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("] close 127.0.0.1:"),
            () => "no close line: " + ferryd.Process.StandardError);

        string[] lines = ferryd.Process.StandardError.Split('\n');
        string open = Assert.Single(lines, l => l.Contains("] open ", StringComparison.Ordinal));
        Assert.Matches(@" \[INF\] open 127\.0\.0\.1:\d+ on echo 127\.0\.0\.1:\d+ \[\w+\]$", open);
        // The same connection, by its id, opened before it closed.
        string id = open[open.LastIndexOf('[')..];
        Assert.True(Array.FindIndex(lines, l => l.Contains("] close ", StringComparison.Ordinal) && l.Contains(id + ":", StringComparison.Ordinal))
            > Array.IndexOf(lines, open), ferryd.Process.StandardError);
    }

    [Fact]
    public async Task ConsoleLogGoesToStderrAndStdoutKeepsOnlyListeningLines()
    {
        await using var ferryd = await FerrydProcess.StartEchoAsync("--log-level", "debug");
        using (var client = await Loopback.ConnectAsync(ferryd.Port()))
        {
            await Loopback.SendAllAsync(client, "visible\n"u8.ToArray());
            await Loopback.ReceiveAsync(client, 8, TimeSpan.FromSeconds(10));
        }
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("says: visible"),
            () => "debug line missing from stderr: " + ferryd.Process.StandardError);
        ferryd.Process.Signal(Signals.SigTerm);
        Assert.Equal(0, await ferryd.Process.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => ferryd.Process.ReadStdoutLineAsync(TimeSpan.FromSeconds(1)));
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }
}
