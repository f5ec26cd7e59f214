using System.Runtime.Versioning;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary><c>ferry -U</c> and <c>ferry listen -U</c> against real peers on Unix-domain stream sockets: socat and nc.</summary>
[SupportedOSPlatform("linux")]
public sealed class ClientUnixTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Line = TimeSpan.FromSeconds(15);

    private readonly TempDirectory _directory = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    private static async Task WriteAsync(RunningProcess process, string text)
    {
        await process.StandardInput.WriteAsync(Encoding.UTF8.GetBytes(text), Token);
        await process.StandardInput.FlushAsync(Token);
    }

    private static async Task<RunningProcess> StartListeningFerryAsync(string address, params string[] more)
    {
        var ferry = RunningProcess.Start(Binaries.Ferry, ["listen", "-U", address, .. more]);
        Assert.Equal($"listening {address}", await ferry.ReadStderrLineAsync(Line));
        return ferry;
    }

    [Fact]
    public async Task OneMebibyteOfRandomBytesComesBackIdenticalFromSocat()
    {
        string socat = ExternalTool.Require("socat");
        string path = _directory.File("cat.sock");
        await using var peer = RunningProcess.Start(socat, [$"UNIX-LISTEN:{path}", "EXEC:cat"]);
        await UnixSockets.WaitListeningAsync(path);
        byte[] input = new byte[1024 * 1024];
        new Random(1).NextBytes(input);

        // ferry half-closes at stdin EOF; cat then ends, socat closes, and ferry exits 0.
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["-U", path], input, Generous);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(input.Length, result.Stdout.Length);
        Assert.True(input.AsSpan().SequenceEqual(result.Stdout), "echoed bytes differ");
    }

    [Fact]
    public async Task TalksBothWaysWithNcListening()
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        string path = _directory.File("nc.sock");
        var peer = RunningProcess.Start(nc, ["-lU", path]);
        await using (peer)
        {
            await UnixSockets.WaitListeningAsync(path);
            await using var ferry = RunningProcess.Start(Binaries.Ferry, ["-U", path]);
            await WriteAsync(ferry, "to nc\n");
            Assert.Equal("to nc", await peer.ReadStdoutLineAsync(Line));
            await WriteAsync(peer, "to ferry\n");
            Assert.Equal("to ferry", await ferry.ReadStdoutLineAsync(Line));

            // nc ends: its socket closes, which is a clean end for ferry, its stdin still open.
            peer.Signal(Signals.SigTerm);
            Assert.Equal(0, await ferry.WaitForExitAsync(Line));
        }
    }

    [Fact]
    public async Task ListenServesNcNamesItByPidAndRemovesItsSocketFile()
    {
        string nc = ExternalTool.RequireOpenBsdNetcat();
        string path = _directory.File("listen.sock");
        await using var ferry = await StartListeningFerryAsync(path);
        Assert.True(File.Exists(path));

        await using var peer = RunningProcess.Start(nc, ["-U", path]);
        Assert.Equal($"connection from pid {peer.Pid} (uid {CurrentUid()})", await ferry.ReadStderrLineAsync(Line));
        await WriteAsync(peer, "hello listener\n");
        Assert.Equal("hello listener", await ferry.ReadStdoutLineAsync(Line));
        await WriteAsync(ferry, "hello nc\n");
        Assert.Equal("hello nc", await peer.ReadStdoutLineAsync(Line));

        peer.Signal(Signals.SigTerm);
        Assert.Equal(0, await ferry.WaitForExitAsync(Line));
        Assert.False(File.Exists(path), "the socket file outlived ferry listen");
    }

    [Fact]
    public async Task ListenTakesOneMebibyteFromSocatAndAnswersIt()
    {
        string socat = ExternalTool.Require("socat");
        string path = _directory.File("bulk.sock");
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["listen", "-U", path], binaryStdout: true);
        await UnixSockets.WaitListeningAsync(path);
        // The operator's whole input, ended before the peer comes: sent to it, then a half-close.
        await WriteAsync(ferry, "bye\n");
        ferry.StandardInput.Close();
        byte[] input = new byte[1024 * 1024];
        new Random(2).NextBytes(input);

        // -t: socat waits for the rest of its input after ferry's half-close arrives (default 0.5 s).
        var peer = await ToolRun.RunAsync(socat, ["-t", "30", "-", $"UNIX-CONNECT:{path}"], input, Generous);

        Assert.True(peer.ExitCode == 0, peer.Stderr);
        Assert.Equal("bye\n", peer.StdoutText);
        Assert.Equal(0, await ferry.WaitForExitAsync(Line));
        byte[] received = await ferry.StdoutBytesAsync();
        Assert.Equal(input.Length, received.Length);
        Assert.True(input.AsSpan().SequenceEqual(received), "received bytes differ");
        Assert.False(File.Exists(path), "the socket file outlived ferry listen");
    }

    [Fact]
    public async Task ListenReplacesAStaleSocketFile()
    {
        string socat = ExternalTool.Require("socat");
        string path = _directory.File("stale.sock");
        // A listener killed with SIGKILL leaves its socket file behind, and nothing listens on it.
        var killed = RunningProcess.Start(socat, [$"UNIX-LISTEN:{path}", "EXEC:cat"]);
        await UnixSockets.WaitListeningAsync(path);
        await killed.DisposeAsync();
        Assert.True(File.Exists(path));

        await using var ferry = await StartListeningFerryAsync(path);
        var peer = await ToolRun.RunAsync(socat, ["-", $"UNIX-CONNECT:{path}"], "through the new socket\n"u8.ToArray(), Generous);
        Assert.Equal(0, peer.ExitCode);
        Assert.Equal("through the new socket", await ferry.ReadStdoutLineAsync(Line));
    }

    [Fact]
    public async Task ListenRefusesALiveSocketAndLeavesItWorking()
    {
        string socat = ExternalTool.Require("socat");
        string path = _directory.File("live.sock");
        await using var owner = RunningProcess.Start(socat, [$"UNIX-LISTEN:{path},fork", "EXEC:cat"]);
        await UnixSockets.WaitListeningAsync(path);

        var refused = await ToolRun.RunAsync(Binaries.Ferry, ["listen", "-U", path], timeout: Generous);

        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"ferry: cannot listen on {path}: address already in use", refused.Stderr.Trim());
        var echoed = await ToolRun.RunAsync(Binaries.Ferry, ["-U", path], "still served\n"u8.ToArray(), Generous);
        Assert.Equal(0, echoed.ExitCode);
        Assert.Equal("still served\n", echoed.StdoutText);
    }

    [Fact]
    public async Task ListenNeverRemovesAFileThatIsNotASocket()
    {
        string path = _directory.File("precious.txt");
        await File.WriteAllTextAsync(path, "keep me", Token);

        var refused = await ToolRun.RunAsync(Binaries.Ferry, ["listen", "-U", path], timeout: Generous);

        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"ferry: cannot listen on {path}: the path exists and is not a socket", refused.Stderr.Trim());
        Assert.Equal("keep me", await File.ReadAllTextAsync(path, Token));
    }

    [Fact]
    public async Task AbstractNamesWorkWithSocatBothWays()
    {
        string socat = ExternalTool.Require("socat");
        string name = UnixSockets.UniqueAbstractName();
        await using (var ferry = await StartListeningFerryAsync(name))
        {
            var sender = await ToolRun.RunAsync(socat, ["-", $"ABSTRACT-CONNECT:{name[1..]}"], "abstract hello\n"u8.ToArray(), Generous);
            Assert.Equal(0, sender.ExitCode);
            Assert.Equal("abstract hello", await ferry.ReadStdoutLineAsync(Line));
        }

        string echoName = UnixSockets.UniqueAbstractName();
        await using var echo = RunningProcess.Start(socat, [$"ABSTRACT-LISTEN:{echoName[1..]}", "EXEC:cat"]);
        await UnixSockets.WaitListeningAsync(echoName);
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["-U", echoName], "abstract echo\n"u8.ToArray(), Generous);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("abstract echo\n", result.StdoutText);
    }

    [Fact]
    public async Task TlsWorksOverAUnixSocket()
    {
        using var certificates = new TestCertificates();
        string path = _directory.File("tls.sock");
        await using var ferry = await StartListeningFerryAsync(path, "--tls", "--cert", certificates.ServerCert, "--key", certificates.ServerKey);

        // The client checks the certificate for "localhost": a Unix socket is on this machine.
        await using var client = RunningProcess.Start(Binaries.Ferry, ["-U", path, "--tls", "--ca", certificates.CaFile]);
        await WriteAsync(client, "over tls\n");
        Assert.Equal("over tls", await ferry.ReadStdoutLineAsync(Line));
        await WriteAsync(ferry, "and back\n");
        Assert.Equal("and back", await client.ReadStdoutLineAsync(Line));
        // The client's end of input is a close_notify and a FIN: a clean end for ferry listen.
        client.StandardInput.Close();
        Assert.Equal(0, await ferry.WaitForExitAsync(Line));
    }

    [Fact]
    public async Task MissingPathsAreOneLine()
    {
        string missing = _directory.File("missing.sock");
        var connect = await ToolRun.RunAsync(Binaries.Ferry, ["-U", missing], timeout: Generous);
        Assert.Equal(1, connect.ExitCode);
        Assert.Equal($"ferry: {missing}: no such file or directory", connect.Stderr.Trim());

        string inMissingDirectory = _directory.File("no/such/dir.sock");
        var listen = await ToolRun.RunAsync(Binaries.Ferry, ["listen", "-U", inMissingDirectory], timeout: Generous);
        Assert.Equal(1, listen.ExitCode);
        Assert.Equal($"ferry: cannot listen on {inMissingDirectory}: no such file or directory", listen.Stderr.Trim());

        // A socket file nobody listens on any more: refused, like a closed TCP port.
        string socat = ExternalTool.Require("socat");
        string stale = _directory.File("stale.sock");
        var killed = RunningProcess.Start(socat, [$"UNIX-LISTEN:{stale}", "EXEC:cat"]);
        await UnixSockets.WaitListeningAsync(stale);
        await killed.DisposeAsync();
        var refused = await ToolRun.RunAsync(Binaries.Ferry, ["-U", stale], timeout: Generous);
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"ferry: connect to {stale}: connection refused", refused.Stderr.Trim());
    }

    [Fact]
    public async Task PermissionDeniedIsOneLine()
    {
        string socat = ExternalTool.Require("socat");
        string setpriv = ExternalTool.Require("setpriv");
        string locked = Path.Combine(_directory.Path, "locked");
        Directory.CreateDirectory(locked);
        string path = Path.Combine(locked, "s.sock");
        await using var owner = RunningProcess.Start(socat, [$"UNIX-LISTEN:{path},fork", "EXEC:cat"]);
        await UnixSockets.WaitListeningAsync(path);
        File.SetUnixFileMode(locked, UnixFileMode.None);
        try
        {
            // Root reads any directory: run ferry as nobody then.
            string[] prefix = Environment.UserName == "root"
                ? [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]
                : [];
            var connect = await RunAsAsync(prefix, ["-U", path]);
            Assert.Equal(1, connect.ExitCode);
            Assert.Equal($"ferry: {path}: permission denied", connect.Stderr.Trim());

            string other = Path.Combine(locked, "other.sock");
            var listen = await RunAsAsync(prefix, ["listen", "-U", other]);
            Assert.Equal(1, listen.ExitCode);
            Assert.Equal($"ferry: cannot listen on {other}: permission denied", listen.Stderr.Trim());
        }
        finally
        {
            File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>This process's real user id, as SO_PEERCRED reports it for the peers it starts.</summary>
    private static string CurrentUid() =>
        File.ReadLines("/proc/self/status").First(line => line.StartsWith("Uid:", StringComparison.Ordinal))
            .Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];

    private static Task<ToolRun.Result> RunAsAsync(string[] prefix, string[] args) =>
        prefix.Length == 0
            ? ToolRun.RunAsync(Binaries.Ferry, args, timeout: Generous)
            : ToolRun.RunAsync(prefix[0], [.. prefix[1..], Binaries.Ferry, .. args], timeout: Generous);

    [Theory]
    [InlineData("-U /tmp/x.sock 127.0.0.1 7", "-U PATH takes no HOST or PORT", "Usage: ferry [-u] HOST PORT")]
    [InlineData("-u -U /tmp/x.sock", "-u and -U exclude each other", "Usage: ferry [-u] HOST PORT")]
    [InlineData("-U @", "must not be empty", "Usage: ferry [-u] HOST PORT")]
    [InlineData("listen -U /tmp/x.sock 7000", "-U PATH takes no [ADDR:]PORT", "Usage: ferry listen [-u] [ADDR:]PORT")]
    [InlineData("listen -u -U /tmp/x.sock", "-u and -U exclude each other", "Usage: ferry listen [-u] [ADDR:]PORT")]
    public Task MisusedUnixOptionsAreUsageErrors(string commandLine, string problem, string usage) =>
        ClientUsage.AssertRefusedAsync(commandLine, problem, usage);

    [Fact]
    public async Task APathTooLongForSunPathIsAUsageError()
    {
        string path = "/tmp/" + new string('p', 110);
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["listen", "-U", path], timeout: Generous);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("longer than 107 bytes", result.Stderr);
    }
}
