using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// unix: listeners: stream services over a socket file (or an abstract name) with nc and socat;
/// the file's mode and owner, who may connect (mode, allowUid, per-user limits), the peer's
/// credentials in the log, a stale file replaced, a live one refused, the file removed at stop.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class UnixListenerTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _directory = new();

    public UnixListenerTests()
    {
        // Others (the nobody user of some tests) may reach the sockets: only their own modes decide.
        File.SetUnixFileMode(_directory.Path, (UnixFileMode)0b111_101_101);
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task EchoServesNcAndSocatAndAMebibyteComesBackIdentical()
    {
        string nc = ExternalTool.Require("nc");
        string socat = ExternalTool.Require("socat");
        string path = _directory.File("echo.sock");
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"unix:{path}=echo");
        Assert.Equal($"unix:{path}", ferryd.Addresses[0]);
        var payload = new byte[1024 * 1024];
        new Random(5).NextBytes(payload);

        var fromNc = await ToolRun.RunAsync(nc, ["-N", "-U", path], "over nc\n"u8.ToArray(), Generous);
        var fromSocat = await ToolRun.RunAsync(socat, ["-t", "5", "-", $"UNIX-CONNECT:{path}"], payload, Generous);

        Assert.Equal("over nc\n", fromNc.StdoutText);
        Assert.Equal(payload.Length, fromSocat.Stdout.Length);
        Assert.True(payload.AsSpan().SequenceEqual(fromSocat.Stdout), "echoed bytes differ");
    }

    [Fact]
    public async Task TheAbstractNamespaceNeedsNoFile()
    {
        string socat = ExternalTool.Require("socat");
        string name = $"ferry-test-{Guid.NewGuid():N}";
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"unix:@{name}=echo");

        var result = await ToolRun.RunAsync(socat, ["-t", "5", "-", $"ABSTRACT-CONNECT:{name}"], "abstract\n"u8.ToArray(), Generous);

        Assert.Equal("abstract\n", result.StdoutText);
    }

    [Fact]
    public async Task TheSocketFileGetsTheModeOwnerAndGroupAskedForAndIsRemovedAtStop()
    {
        string stat = ExternalTool.Require("stat");
        string plain = _directory.File("plain.sock"), owned = _directory.File("owned.sock");
        await using (var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", $"unix:{plain}=echo", "--listen", $"unix:{owned}=echo,mode=0640,owner=nobody,group=nogroup"))
        {
            var plainMode = await ToolRun.RunAsync(stat, ["-c", "%F %a %U %G", plain], timeout: Generous);
            var ownedMode = await ToolRun.RunAsync(stat, ["-c", "%F %a %U %G", owned], timeout: Generous);
            Assert.Equal("socket 666 root root", plainMode.StdoutText.Trim());
            Assert.Equal("socket 640 nobody nogroup", ownedMode.StdoutText.Trim());

            ferryd.Process.Signal(Signals.SigTerm);
            Assert.Equal(0, await ferryd.Process.WaitForExitAsync(Generous));
        }

        Assert.False(File.Exists(plain), "the socket file outlived ferryd");
        Assert.False(File.Exists(owned), "the socket file outlived ferryd");
    }

    [Fact]
    public async Task AnotherUserIsKeptOutByMode0600AndByAllowUid()
    {
        string setpriv = ExternalTool.Require("setpriv");
        string socat = ExternalTool.Require("socat");
        string closed = _directory.File("closed.sock"), listed = _directory.File("listed.sock");
        await using var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", $"unix:{closed}=echo,mode=0600", "--listen", $"unix:{listed}=echo,allowUid=root");
        string[] asNobody = ["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", socat, "-t", "3", "-"];

        var byMode = await ToolRun.RunAsync(setpriv, [.. asNobody, $"UNIX-CONNECT:{closed}"], "hello\n"u8.ToArray(), Generous);
        var byList = await ToolRun.RunAsync(setpriv, [.. asNobody, $"UNIX-CONNECT:{listed}"], "hello\n"u8.ToArray(), Generous);
        var root = await ToolRun.RunAsync(socat, ["-t", "3", "-", $"UNIX-CONNECT:{listed}"], "hello\n"u8.ToArray(), Generous);

        Assert.NotEqual(0, byMode.ExitCode);
        Assert.Contains("Permission denied", byMode.Stderr);
        Assert.Equal("", byList.StdoutText);
        Assert.Equal("hello\n", root.StdoutText);
        string refusal = await StderrLineWithAsync(ferryd, "refused");
        Assert.Contains($"on echo unix:{listed}", refusal);
        Assert.Contains("not allowed by the listener's allowUid/allowGid lists", refusal);
        Assert.Contains($"uid {NobodyId()}", refusal);
    }

    [Fact]
    public async Task PerAddressLimitsCountPerUser()
    {
        string setpriv = ExternalTool.Require("setpriv");
        string path = _directory.File("limited.sock");
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"unix:{path}=echo,maxConnectionsPerIp=1");
        // As nobody (root and ferryd's own user are exempt, as loopback is on TCP): the second
        // connection at once is closed without an echo, while the first is served.
        string script = $$"""
            import socket
            first = socket.socket(socket.AF_UNIX); first.connect("{{path}}"); first.sendall(b"one\n")
            print(first.recv(100))
            second = socket.socket(socket.AF_UNIX); second.connect("{{path}}"); second.settimeout(5)
            try:
                second.sendall(b"two\n"); print(second.recv(100))
            except OSError as e:
                print("error", e.errno)
            """;

        var result = await ToolRun.RunAsync(setpriv,
            ["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "/usr/bin/python3", "-c", script], timeout: Generous);

        Assert.Equal(0, result.ExitCode);
        var lines = result.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("b'one\\n'", lines[0]);
        Assert.True(lines[1] is "b''" || lines[1].StartsWith("error", StringComparison.Ordinal), lines[1]);
        Assert.Contains($"too many connections from uid {NobodyId()} (maxConnectionsPerIp 1)", await StderrLineWithAsync(ferryd, "refused"));
    }

    [Fact]
    public async Task EachConnectionIsLoggedWithThePeersPidUidAndGid()
    {
        string path = _directory.File("logged.sock");
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"unix:{path}=echo");

        using (var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken);
            await client.SendAsync("hi\n"u8.ToArray(), TestContext.Current.CancellationToken);
            Assert.Equal("hi\n", Encoding.ASCII.GetString(await Loopback.ReceiveAsync(client, 3, Generous)));
        }

        string close = await StderrLineWithAsync(ferryd, "close ");
        Assert.Contains($"close pid {Environment.ProcessId} uid 0 gid 0 on echo unix:{path}", close);
    }

    [Fact]
    public async Task AStaleSocketFileIsReplacedAndALiveOneIsAddressInUse()
    {
        string path = _directory.File("stale.sock");
        // A server that died without removing its file: bound, then gone (.NET's sockets remove
        // their file when closed, so a program that does not does it).
        var dead = await ToolRun.RunAsync("/usr/bin/python3",
            ["-c", $"import socket; socket.socket(socket.AF_UNIX).bind('{path}')"], timeout: Generous);
        Assert.Equal(0, dead.ExitCode);
        Assert.True(File.Exists(path));
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            var refused = Assert.Throws<SocketException>(() => probe.Connect(new UnixDomainSocketEndPoint(path)));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }

        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen", $"unix:{path}=echo");
        var second = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", $"unix:{path}=discard"], timeout: Generous);

        Assert.Equal(4, second.ExitCode);
        Assert.Contains($"cannot listen on unix:{path} (discard): address already in use", second.Stderr);
        var echoed = await ToolRun.RunAsync(ExternalTool.Require("socat"), ["-t", "3", "-", $"UNIX-CONNECT:{path}"], "still mine\n"u8.ToArray(), Generous);
        Assert.Equal("still mine\n", echoed.StdoutText);
    }

    [Fact]
    public async Task AFileThatIsNotASocketIsNeverRemoved()
    {
        string path = _directory.File("precious.txt");
        File.WriteAllText(path, "keep me");

        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", $"unix:{path}=echo"], timeout: Generous);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains($"cannot listen on unix:{path} (echo): the path exists and is not a socket", result.Stderr);
        Assert.Equal("keep me", File.ReadAllText(path));
    }

    [Fact]
    public async Task ExecTellsTheProgramWhoConnected()
    {
        string socat = ExternalTool.Require("socat");
        string path = _directory.File("exec.sock");
        await using var ferryd = await FerrydProcess.StartAsync(1,
            "--listen", $"unix:{path}=exec,cmd=/bin/sh,args=-c;echo $PROTO $UNIXREMOTEEUID $UNIXREMOTEEGID");

        var result = await ToolRun.RunAsync(socat, ["-t", "3", "-", $"UNIX-CONNECT:{path}"], [], Generous);

        Assert.Equal("UNIX 0 0\n", result.StdoutText);
    }

    [Theory]
    [InlineData("unix:/tmp/x.sock=echo,allow=10.0.0.0/8", "allow=10.0.0.0/8: not for a unix listener")]
    [InlineData("127.0.0.1:0=echo,mode=0600", "mode=0600: not for a tcp listener")]
    [InlineData("unix:/tmp/x.sock=echo,mode=999", "mode=999: not an octal file mode")]
    [InlineData("unix:@abstract=echo,mode=0600", "is in the abstract namespace")]
    [InlineData("unix:=echo", "unix: needs a socket file's path")]
    public async Task UnixMistakesAreUsageErrors(string listen, string message)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", listen], timeout: Generous);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
    }

    [Fact]
    public async Task AMissingDirectoryIsNamed()
    {
        string path = _directory.File("no/such/dir/echo.sock");

        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", $"unix:{path}=echo"], timeout: Generous);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains($"cannot listen on unix:{path} (echo): no such file or directory", result.Stderr);
    }

    private static string NobodyId() => File.ReadLines("/etc/passwd").First(l => l.StartsWith("nobody:", StringComparison.Ordinal)).Split(':')[2];

    private static async Task<string> StderrLineWithAsync(FerrydProcess ferryd, string text)
    {
        while (true)
        {
            string line = await ferryd.Process.ReadStderrLineAsync(Generous);
            if (line.Contains(text, StringComparison.Ordinal))
                return line;
        }
    }
}
