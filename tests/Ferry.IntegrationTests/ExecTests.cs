using System.Net;
using System.Net.Sockets;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>ferryd's exec service with real programs: cat, sh, env, id, sleep; real clients: ferry, socat, nc, openssl.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ExecTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _scripts = new();

    public void Dispose() => _scripts.Dispose();

    /// <summary>A shell script to run (a list option cannot hold the ';' of a one-line script).</summary>
    private string Script(string body)
    {
        string path = Path.Combine(_scripts.Path, $"script{Directory.GetFiles(_scripts.Path).Length}.sh");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static Task<FerrydProcess> StartExecAsync(string options, params string[] extra) =>
        FerrydProcess.StartAsync(1, ["--listen", $"127.0.0.1:0=exec,{options}", .. extra]);

    /// <summary>The pids of <paramref name="pid"/>'s children (every thread's), from /proc.</summary>
    private static List<int> ChildrenOf(int pid)
    {
        var children = new List<int>();
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                children.AddRange(File.ReadAllText(Path.Combine(task, "children"))
                    .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse));
            }
            catch (IOException)
            {
                // the thread ended while we looked
            }
        }
        return children;
    }

    private static bool Exists(int pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>Connects, sends <paramref name="request"/>, half-closes, and reads until the server's FIN.</summary>
    private static async Task<byte[]> ExchangeAsync(int port, byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var deadline = new CancellationTokenSource(Generous);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), deadline.Token);
        var reading = ReadToEndAsync(socket, deadline.Token);
        if (request.Length > 0)
            await socket.SendAsync(request, SocketFlags.None, deadline.Token);
        socket.Shutdown(SocketShutdown.Send);
        return await reading;
    }

    private static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancel)
    {
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel)) > 0)
            received.Write(buffer, 0, n);
        return received.ToArray();
    }

    private static Task WaitForLogAsync(FerrydProcess ferryd, string text) =>
        ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains(text),
            () => $"expected '{text}' in ferryd's log: {ferryd.Process.StandardError}");

    /// <summary>ferryd with an exec listener of <paramref name="options"/> stops at once with this exit code and a one-line reason.</summary>
    private static async Task AssertRefusedAtStartAsync(string options, int exitCode, string expected)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", $"127.0.0.1:0=exec,{options}"], timeout: Generous);
        Assert.True(result.ExitCode == exitCode, $"{options}: exit {result.ExitCode}: {result.Stderr}");
        Assert.Contains(expected, result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    /// <summary>A process's argv as /proc has it (NUL after each), or "" once it is gone.</summary>
    private static string ReadCommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>
    /// ferryd's first child once it runs its program. Before that it is ferryd's clone, closing
    /// what the program must not keep: a look at it then may still see a descriptor on its way
    /// out (a listing once showed 0, 1, 2 and 10).
    /// </summary>
    private static async Task<int> WaitForOneChildAsync(FerrydProcess ferryd)
    {
        int child = 0;
        string ferrydCommand = ReadCommandLine(ferryd.Process.Pid);
        await ServiceProtocolTests.WaitForAsync(() => (child = ChildrenOf(ferryd.Process.Pid).FirstOrDefault()) != 0
            && ReadCommandLine(child) is { Length: > 0 } command && command != ferrydCommand,
            () => child == 0 ? "ferryd started no program" : $"ferryd's child {child} did not run its program");
        return child;
    }

    [Fact]
    public async Task CatReturnsTenMebibytesUnchangedToFerryAndSocat()
    {
        string socat = ExternalTool.Require("socat");
        await using var ferryd = await StartExecAsync("cmd=/bin/cat");
        string port = ferryd.Port("exec").ToString();
        var payload = new byte[10 * 1024 * 1024];
        new Random(14).NextBytes(payload);
        var clients = new (string File, string[] Args)[]
        {
            (Binaries.Ferry, ["127.0.0.1", port]),
            (socat, ["-t", "30", "-", $"TCP:127.0.0.1:{port}"]),
        };
        await ToolRun.AssertEachEchoesAsync(clients, payload, Generous);
        await ServiceProtocolTests.WaitForAsync(
            () => ferryd.Process.StandardError.Split('\n').Count(l => l.Contains($"in {payload.Length} B, out {payload.Length} B")
                && l.Contains("service done") && l.Contains("exited with code 0")) == 2,
            () => $"expected two close lines with every byte counted and cat's exit: {ferryd.Process.StandardError}");
    }

    [Fact]
    public async Task ProgramThatAnswersOnlyAfterEndOfInputIsHeardUnlikeNcatExec()
    {
        // ncat --exec has lost such answers (nmap issues #962, #2510, #2843): the client's FIN must
        // reach the program as EOF while the way back stays open.
        string nc = ExternalTool.RequireOpenBsdNetcat();
        await using var ferryd = await StartExecAsync("cmd=/bin/sh,args=-c;sleep 0.2 && wc -c");
        var payload = new byte[300_000];
        new Random(15).NextBytes(payload);
        var result = await ToolRun.RunAsync(nc, ["-N", "127.0.0.1", ferryd.Port("exec").ToString()], payload, Generous);
        Assert.True(result.ExitCode == 0, $"nc exited {result.ExitCode}: {result.Stderr}");
        Assert.Equal("300000", result.StdoutText.Trim());
    }

    [Fact]
    public async Task ProgramSeesTheConnectionInUcspiAndSystemdVariablesAndNothingElseOfFerryds()
    {
        await using var ferryd = await StartExecAsync("cmd=/usr/bin/env,env=GREETING=hello there;PATH=/opt/bin:/usr/bin");
        int port = ferryd.Port("exec");
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int clientPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken);
        socket.Shutdown(SocketShutdown.Send);
        string output = Encoding.UTF8.GetString(await ReadToEndAsync(socket, TestContext.Current.CancellationToken));
        var variables = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(line => line[..line.IndexOf('=')], line => line[(line.IndexOf('=') + 1)..]);

        Assert.Equal("TCP", variables["PROTO"]);
        Assert.Equal("127.0.0.1", variables["TCPREMOTEIP"]);
        Assert.Equal(clientPort.ToString(), variables["TCPREMOTEPORT"]);
        Assert.Equal("127.0.0.1", variables["TCPLOCALIP"]);
        Assert.Equal(port.ToString(), variables["TCPLOCALPORT"]);
        Assert.Equal("127.0.0.1", variables["REMOTE_ADDR"]);
        Assert.Equal(clientPort.ToString(), variables["REMOTE_PORT"]);
        Assert.Equal("hello there", variables["GREETING"]);
        Assert.Equal("/opt/bin:/usr/bin", variables["PATH"]);
        var allowed = new[] { "PROTO", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT", "REMOTE_ADDR", "REMOTE_PORT",
            "GREETING", "PATH", "LANG", "TZ" };
        Assert.Empty(variables.Keys.Except(allowed));
    }

    [Fact]
    public async Task ProgramHoldsOnlyDescriptorsZeroOneAndTwo()
    {
        // A second client's connection and the listeners are open in ferryd while the program runs.
        await using var ferryd = await FerrydProcess.StartAsync(2, "--listen", "127.0.0.1:0=exec,cmd=/bin/sleep,args=30",
            "--listen", "127.0.0.1:0=echo");
        using var echoClient = new TcpClient();
        await echoClient.ConnectAsync(IPAddress.Loopback, ferryd.Port("echo"), TestContext.Current.CancellationToken);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ferryd.Port("exec"), TestContext.Current.CancellationToken);
        int child = await WaitForOneChildAsync(ferryd);
        Assert.StartsWith("/bin/sleep\0", ReadCommandLine(child));

        // Right after exec the dynamic loader holds a descriptor of its own for a moment (one
        // listing showed 3): what counts is what the program holds once it runs, and a leaked
        // descriptor would stay.
        string[] descriptors = [];
        await ServiceProtocolTests.WaitForAsync(
            () => (descriptors = [.. Directory.GetFileSystemEntries($"/proc/{child}/fd").Select(entry => Path.GetFileName(entry)).Order()]).SequenceEqual(["0", "1", "2"]),
            () => $"the program holds descriptors {string.Join(", ", descriptors)}");
        string stdin = new FileInfo($"/proc/{child}/fd/0").LinkTarget!;
        Assert.StartsWith("socket:", stdin);
        Assert.Equal(stdin, new FileInfo($"/proc/{child}/fd/1").LinkTarget);
        Assert.StartsWith("socket:", new FileInfo($"/proc/{child}/fd/2").LinkTarget);
        Assert.NotEqual(stdin, new FileInfo($"/proc/{child}/fd/2").LinkTarget);
        // It leads a session and process group of its own.
        string[] stat = File.ReadAllText($"/proc/{child}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(child.ToString(), stat[2]);
        Assert.Equal(child.ToString(), stat[3]);
    }

    [Fact]
    public async Task StderrLinesAreLoggedEscapedAndTheLastNamedWhenTheProgramFails()
    {
        await using var ferryd = await StartExecAsync(
            $"cmd={Script("printf 'first line\\n' >&2; printf 'red \\033[31m alert\\n' >&2; echo out; exit 3")}");
        byte[] answer = await ExchangeAsync(ferryd.Port("exec"), []);
        Assert.Equal("out\n", Encoding.UTF8.GetString(answer));
        await WaitForLogAsync(ferryd, "exited with code 3");
        string log = ferryd.Process.StandardError;
        Assert.Contains("stderr: first line", log);
        Assert.Contains("stderr: red \\x1b[31m alert", log);
        Assert.DoesNotContain("\u001b", log);
        Assert.Contains("last stderr: red \\x1b[31m alert", log);
    }

    [Fact]
    public async Task AFloodOfStderrIsCutToFiftyLinesAndTheRestCountedOnce()
    {
        await using var ferryd = await StartExecAsync($"cmd={Script("for i in $(seq 80); do echo \"noise $i\" >&2; done")}");
        Assert.Empty(await ExchangeAsync(ferryd.Port("exec"), []));
        await WaitForLogAsync(ferryd, "30 stderr lines were not logged (at most 50 per 10 s)");
        string log = ferryd.Process.StandardError;
        Assert.Equal(50, log.Split('\n').Count(l => l.Contains("stderr: noise ")));
        Assert.Contains("stderr: noise 50", log);
        Assert.DoesNotContain("stderr: noise 51", log);
    }

    [Fact]
    public async Task StderrSocketMergesIntoTheClientsStreamAndNullDropsIt()
    {
        await using var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", $"127.0.0.1:0=exec,stderr=socket,cmd={Script("echo to-out; echo to-err >&2")}",
            "--listen", $"127.0.0.1:0=exec,stderr=null,cmd={Script("echo to-out; echo to-err >&2")}");
        Assert.Equal("to-out\nto-err\n", Encoding.UTF8.GetString(await ExchangeAsync(ferryd.Listeners[0].EndPoint.Port, [])));
        Assert.Equal("to-out\n", Encoding.UTF8.GetString(await ExchangeAsync(ferryd.Listeners[1].EndPoint.Port, [])));
        Assert.DoesNotContain("to-err", ferryd.Process.StandardError);
    }

    [Fact]
    public async Task MaxChildrenHoldsUnderAHundredConnectingClientsAndEveryOneIsServed()
    {
        // Each program counts the programs running with it: a file each, made at its start and
        // removed before it ends (so before its slot is free); it answers with the count it saw.
        using var running = new TempDirectory();
        string program = Script($"touch {running.Path}/$$; ls {running.Path} | wc -l; sleep 0.1; rm {running.Path}/$$");
        await using var ferryd = await StartExecAsync($"maxChildren=5,cmd={program}");
        int port = ferryd.Port("exec");
        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => ExchangeAsync(port, [])));
        var seen = answers.Select(a => int.Parse(Encoding.UTF8.GetString(a).Trim())).ToArray();
        Assert.Equal(100, seen.Length);
        Assert.InRange(seen.Max(), 2, 5);
        Assert.Contains("maxChildren=5 programs are running; new clients wait", ferryd.Process.StandardError);
    }

    [Fact]
    public async Task ProgramThatIgnoresTermIsKilledAfterKillGraceOnTimeout()
    {
        await using var ferryd = await StartExecAsync(
            $"timeout=1,killGrace=1,cmd={Script("trap '' TERM; echo ready; while :; do sleep 0.1; done")}");
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ferryd.Port("exec"), TestContext.Current.CancellationToken);
        int child = await WaitForOneChildAsync(ferryd);
        var rest = await ReadToEndAsync(client.Client, TestContext.Current.CancellationToken);
        Assert.Equal("ready\n", Encoding.UTF8.GetString(rest));
        await WaitForLogAsync(ferryd, "program timeout");
        string log = ferryd.Process.StandardError;
        Assert.Contains("killed by signal 9 (KILL)", log);
        Assert.Contains("KILL sent killGrace 1 s after TERM (after timeout 1 s)", log);
        Assert.False(Exists(child), $"pid {child} still exists");
    }

    [Fact]
    public async Task ClientGoneGivesTheProgramEofThenTermAfterKillGrace()
    {
        // cat ends at EOF by itself; this program ignores EOF and TERM, so KILL ends it.
        await using var ferryd = await FerrydProcess.StartAsync(2,
            "--listen", "127.0.0.1:0=exec,cmd=/bin/cat",
            "--listen", $"127.0.0.1:0=exec,killGrace=0.5,cmd={Script("trap '' TERM PIPE; while :; do sleep 0.1; done")}");
        foreach (var (_, endPoint) in ferryd.Listeners)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(endPoint, TestContext.Current.CancellationToken);
            int child = await WaitForOneChildAsync(ferryd);
            client.LingerState = new LingerOption(true, 0);
            client.Close(); // a reset: the client is gone, not half-closed
            await ServiceProtocolTests.WaitForAsync(() => !Exists(child) && ChildrenOf(ferryd.Process.Pid).Count == 0,
                () => $"pid {child} still runs: {ferryd.Process.StandardError}");
        }
        await WaitForLogAsync(ferryd, "killed by signal 9 (KILL) after");
        string log = ferryd.Process.StandardError;
        Assert.Contains("peer reset", log);
        Assert.Contains("exited with code 0", log); // cat, at EOF
        Assert.Contains("KILL sent killGrace 0.5 s after TERM (killGrace 0.5 s after the client left)", log);
    }

    [Fact]
    public async Task WhatTheProgramLeftHoldingItsOutputIsEndedAndTheClientGetsItsBytesAndFin()
    {
        // sh exits at once; the sleep it started in the background keeps stdout open.
        string leftPid = Path.Combine(_scripts.Path, "left.pid");
        await using var ferryd = await StartExecAsync($"killGrace=0.5,cmd={Script($"sleep 300 & echo $! > {leftPid}; echo started")}");
        byte[] answer = await ExchangeAsync(ferryd.Port("exec"), []);
        Assert.Equal("started\n", Encoding.UTF8.GetString(answer));
        await WaitForLogAsync(ferryd, "exited with code 0");
        await ServiceProtocolTests.WaitForAsync(() => ChildrenOf(ferryd.Process.Pid).Count == 0, () => "a child is left");
        int left = int.Parse(File.ReadAllText(leftPid).Trim());
        // Ended by the TERM to its process group (a zombie until whoever inherited it reaps it).
        await ServiceProtocolTests.WaitForAsync(() => !Runs(left), () => $"the sleep it left, pid {left}, still runs");
    }

    /// <summary>Alive, not a zombie.</summary>
    private static bool Runs(int pid)
    {
        string stat = SafeRead($"/proc/{pid}/stat");
        return stat.Length > 0 && stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z') == false;
    }

    [Fact]
    public async Task OutputHeldByAProcessInAnotherSessionIsCutAfterTheGraceAndTheClientGetsItsFin()
    {
        // setsid puts the sleep out of the program's process group: no signal of ferryd's reaches it.
        string holderPid = Path.Combine(_scripts.Path, "holder.pid");
        await using var ferryd = await StartExecAsync($"killGrace=0.2,cmd={Script($"setsid sleep 300 & echo $! > {holderPid}; echo started")}");
        try
        {
            byte[] answer = await ExchangeAsync(ferryd.Port("exec"), []);
            Assert.Equal("started\n", Encoding.UTF8.GetString(answer));
            await WaitForLogAsync(ferryd, "its output was held open after it exited (by something it started), cut 1.4 s later");
            Assert.True(Exists(int.Parse(File.ReadAllText(holderPid).Trim())), "the holder, in a session of its own, is not ferryd's to end");
        }
        finally
        {
            // Started by this test's program (setsid execs sleep in place: $! is its pid).
            if (File.Exists(holderPid))
                Signals.Send(int.Parse(File.ReadAllText(holderPid).Trim()), 9);
        }
    }

    [Fact]
    public async Task AClientThatResetWhileWaitingForASlotIsNeverGivenAProgram()
    {
        await using var ferryd = await StartExecAsync($"maxChildren=1,cmd={Script("sleep 1; echo done")}");
        int port = ferryd.Port("exec");
        var first = ExchangeAsync(port, []);
        await WaitForOneChildAsync(ferryd);
        using (var quitter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await quitter.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken);
            await WaitForLogAsync(ferryd, "maxChildren=1 programs are running");
            quitter.LingerState = new LingerOption(true, 0);
        }
        var third = ExchangeAsync(port, []);
        Assert.Equal("done\n", Encoding.UTF8.GetString(await first));
        Assert.Equal("done\n", Encoding.UTF8.GetString(await third));
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("peer reset, in 0 B, out 0 B"),
            () => $"expected the quitter's close line: {ferryd.Process.StandardError}");
        await ServiceProtocolTests.WaitForAsync(
            () => ferryd.Process.StandardError.Split('\n').Count(l => l.Contains("exited with code 0")) == 2,
            () => "expected two programs");
        Assert.Equal(2, ferryd.Process.StandardError.Split('\n').Count(l => l.Contains(" pid ")));
    }

    private static string SafeRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    [Fact]
    public async Task NoZombiesAfterFiveHundredShortConnections()
    {
        await using var ferryd = await StartExecAsync("cmd=/bin/echo,args=hi");
        int port = ferryd.Port("exec");
        int served = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (int i = 0; i < 125; i++)
            {
                Assert.Equal("hi\n", Encoding.UTF8.GetString(await ExchangeAsync(port, [])));
                Interlocked.Increment(ref served);
            }
        }));
        Assert.Equal(500, served);
        await ServiceProtocolTests.WaitForAsync(() => ChildrenOf(ferryd.Process.Pid).Count == 0,
            () => $"children left: {string.Join(' ', ChildrenOf(ferryd.Process.Pid))}");
        await ServiceProtocolTests.WaitForAsync(
            () => ferryd.Process.StandardError.Split('\n').Count(l => l.Contains("exited with code 0")) == 500,
            () => "expected 500 close lines, each with the program's exit");
    }

    [Fact]
    public async Task ClientsThatResetHalfCloseOrFinishAtRandomLeaveNoDescriptorChildOrZombieBehind()
    {
        await using var ferryd = await StartExecAsync("maxChildren=8,killGrace=0.5,cmd=/bin/cat");
        int port = ferryd.Port("exec");
        int Descriptors() => Directory.GetFileSystemEntries($"/proc/{ferryd.Process.Pid}/fd").Length;
        Assert.Equal("warm\n", Encoding.UTF8.GetString(await ExchangeAsync(port, "warm\n"u8.ToArray())));
        int before = Descriptors();
        var random = new Random(16);
        var kinds = Enumerable.Range(0, 300).Select(_ => random.Next(3)).ToArray();
        int completed = 0;
        await Parallel.ForEachAsync(kinds, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (kind, cancel) =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancel);
            byte[] payload = new byte[20_000];
            Random.Shared.NextBytes(payload);
            switch (kind)
            {
                case 0: // the whole exchange, checked
                    var reading = ReadToEndAsync(socket, cancel);
                    await socket.SendAsync(payload, SocketFlags.None, cancel);
                    socket.Shutdown(SocketShutdown.Send);
                    byte[] answer = await reading;
                    Assert.True(payload.AsSpan().SequenceEqual(answer), "cat's answer differs from what was sent");
                    Interlocked.Increment(ref completed);
                    break;
                case 1: // gone at once, with a reset
                    socket.LingerState = new LingerOption(true, 0);
                    break;
                default: // sends, reads a little, then resets mid-stream
                    await socket.SendAsync(payload, SocketFlags.None, cancel);
                    await socket.ReceiveAsync(new byte[100], SocketFlags.None, cancel);
                    socket.LingerState = new LingerOption(true, 0);
                    break;
            }
        });
        Assert.Equal(kinds.Count(k => k == 0), completed);
        await ServiceProtocolTests.WaitForAsync(() => ChildrenOf(ferryd.Process.Pid).Count == 0 && Descriptors() <= before,
            () => $"left behind: children {string.Join(' ', ChildrenOf(ferryd.Process.Pid))}, descriptors {Descriptors()} (before: {before})");
        // One close line per client; those reset while waiting for a slot were never given a program.
        await ServiceProtocolTests.WaitForAsync(
            () => ferryd.Process.StandardError.Split('\n').Count(l => l.Contains(" close 127.0.0.1:")) == 301,
            () => $"expected a close line for each of the 301 clients: {ferryd.Process.StandardError}");
        Assert.Equal(kinds.Count(k => k == 0) + 1, ferryd.Process.StandardError.Split('\n').Count(l => l.Contains("service done")));
    }

    [Fact]
    public async Task ShutdownEndsEveryProgramAndWhatItStarted()
    {
        await using var ferryd = await StartExecAsync($"killGrace=1,cmd={Script("sleep 300 & sleep 300 & wait")}");
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ferryd.Port("exec"), TestContext.Current.CancellationToken);
        int child = await WaitForOneChildAsync(ferryd);
        var group = new List<int>();
        await ServiceProtocolTests.WaitForAsync(() => (group = ChildrenOf(child)).Count == 2, () => "sh did not start both sleeps");
        ferryd.Process.Signal(15);
        Assert.Equal(0, await ferryd.Process.WaitForExitAsync(Generous));
        Assert.False(Exists(child), $"the program {child} outlived ferryd");
        Assert.All(group, pid => Assert.False(Exists(pid), $"{pid}, started by the program, outlived ferryd"));
        Assert.Contains("TERM sent because ferryd is stopping", ferryd.Process.StandardError);
    }

    [Fact]
    public async Task ProgramsThatCannotStartAreRefusedAtStartWithExitSix()
    {
        using var dir = new TempDirectory();
        string text = Path.Combine(dir.Path, "notes.txt");
        File.WriteAllText(text, "just words\n");
        File.SetUnixFileMode(text, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string plain = Path.Combine(dir.Path, "plain");
        File.WriteAllText(plain, "#!/bin/sh\necho hi\n");
        string badInterpreter = Path.Combine(dir.Path, "script");
        File.WriteAllText(badInterpreter, "#!/no/such/shell\necho hi\n");
        File.SetUnixFileMode(badInterpreter, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var cases = new (string Option, string Expected)[]
        {
            ("cmd=/no/such/program", "cmd=/no/such/program: no such file"),
            ($"cmd={plain}", "cannot be executed: permission denied"),
            ($"cmd={text}", "not a program exec can start"),
            ($"cmd={badInterpreter}", "its interpreter /no/such/shell is missing"),
            ($"cmd={dir.Path}", "is a directory"),
        };
        foreach (var (option, expected) in cases)
            await AssertRefusedAtStartAsync(option, 6, expected);
        await AssertRefusedAtStartAsync("cmd=cat", 2, "absolute path");
    }

    [Fact]
    public async Task ProgramDeletedAtRunTimeClosesTheClientAndIsLoggedOncePerEpisode()
    {
        using var dir = new TempDirectory();
        string program = Path.Combine(dir.Path, "cat");
        File.Copy("/bin/cat", program);
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        await using var ferryd = await StartExecAsync($"cmd={program}");
        int port = ferryd.Port("exec");
        Assert.Equal("still here\n", Encoding.UTF8.GetString(await ExchangeAsync(port, "still here\n"u8.ToArray())));
        File.Delete(program);
        for (int i = 0; i < 3; i++)
            Assert.Empty(await ExchangeAsync(port, "anyone?\n"u8.ToArray()));
        await ServiceProtocolTests.WaitForAsync(
            () => ferryd.Process.StandardError.Split('\n').Count(l => l.Contains("program not started")) == 3,
            () => $"expected three closes for a missing program: {ferryd.Process.StandardError}");
        string log = ferryd.Process.StandardError;
        Assert.Equal(1, log.Split('\n').Count(l => l.Contains($"cannot start {program}: no such file or directory")));
    }

    [Fact]
    public async Task NoProcessToBeHadIsLoggedOncePerEpisodeAndTheListenerKeepsWorking()
    {
        // A pids cgroup (v1 here) capped at what ferryd already has: its next clone fails with EAGAIN.
        const string pidsRoot = "/sys/fs/cgroup/pids";
        if (!File.Exists(Path.Combine(pidsRoot, "cgroup.procs")) || !Environment.IsPrivilegedProcess)
            Assert.Skip("needs root and a cgroup v1 pids controller at /sys/fs/cgroup/pids to make posix_spawn fail with EAGAIN");
        string group = Path.Combine(pidsRoot, $"ferry-exec-test-{Environment.ProcessId}");
        Directory.CreateDirectory(group);
        try
        {
            await using var ferryd = await StartExecAsync("cmd=/bin/echo,args=hi");
            int port = ferryd.Port("exec");
            Assert.Equal("hi\n", Encoding.UTF8.GetString(await ExchangeAsync(port, [])));
            File.WriteAllText(Path.Combine(group, "cgroup.procs"), ferryd.Process.Pid.ToString());
            File.WriteAllText(Path.Combine(group, "pids.max"), File.ReadAllText(Path.Combine(group, "pids.current")).Trim());
            for (int i = 0; i < 3; i++)
                Assert.Empty(await ExchangeAsync(port, []));
            File.WriteAllText(Path.Combine(group, "pids.max"), "max");
            Assert.Equal("hi\n", Encoding.UTF8.GetString(await ExchangeAsync(port, [])));
            await ServiceProtocolTests.WaitForAsync(
                () => ferryd.Process.StandardError.Split('\n').Count(l => l.Contains("program not started")) == 3,
                () => $"expected three clients closed for want of a process: {ferryd.Process.StandardError}");
            Assert.Equal(1, ferryd.Process.StandardError.Split('\n')
                .Count(l => l.Contains("cannot start /bin/echo: no process could be made (EAGAIN")));
        }
        finally
        {
            // ferryd has exited: the group is empty and can go.
            await ServiceProtocolTests.WaitForAsync(() => File.ReadAllText(Path.Combine(group, "cgroup.procs")).Trim().Length == 0,
                () => "ferryd is still in the test's cgroup");
            Directory.Delete(group);
        }
    }

    [Fact]
    public async Task UserNobodyRunsTheProgramAsNobodyWhenFerrydIsRoot()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            await AssertRefusedAtStartAsync("cmd=/usr/bin/id,user=nobody", 6, "only ferryd running as root");
            return;
        }
        await using var ferryd = await StartExecAsync("cmd=/usr/bin/id,user=nobody");
        string id = Encoding.UTF8.GetString(await ExchangeAsync(ferryd.Port("exec"), []));
        Assert.StartsWith("uid=65534(nobody) gid=65534(nogroup)", id);
        Assert.DoesNotContain("(root)", id);
        await AssertRefusedAtStartAsync("cmd=/usr/bin/id,user=no-such-user-here", 6, "user=no-such-user-here: no such user");
    }

    [Fact]
    public async Task TlsListenerTerminatesTlsAndTheProgramTalksPlaintext()
    {
        using var certificates = new TestCertificates();
        await using var ferryd = await StartExecAsync($"cert={certificates.ServerCert},key={certificates.ServerKey},cmd={Script("read line; echo \"got $line\"")}");
        var result = await ToolRun.RunAsync(Binaries.Ferry, ["--tls", "--ca", certificates.CaFile, "localhost", ferryd.Port("exec").ToString()],
            "secret\n"u8.ToArray(), Generous);
        Assert.True(result.ExitCode == 0, $"ferry --tls exited {result.ExitCode}: {result.Stderr}");
        Assert.Equal("got secret\n", result.StdoutText);
    }

    [Fact]
    public async Task ExecServesLoopbackOnlyUnlessAllowSaysOtherwiseAndSaysSoAtStart()
    {
        await using var ferryd = await StartExecAsync("cmd=/bin/cat");
        await WaitForLogAsync(ferryd, "listening exec 127.0.0.1:");
        Assert.Contains("(loopback peers only: allow= is not set)", ferryd.Process.StandardError);
        await using var open = await StartExecAsync("cmd=/bin/cat,allow=0.0.0.0/0");
        await WaitForLogAsync(open, "listening exec 127.0.0.1:");
        Assert.DoesNotContain("loopback peers only", open.Process.StandardError);
    }
}
