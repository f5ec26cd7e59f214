using System.Net;
using System.Net.Sockets;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>A user's mistake or a busy port: one clear stderr line, a documented exit code, no stack trace.</summary>
public sealed class StartupErrorTests
{
    private const int Usage = 2;
    private const int CannotListen = 4;
    private const int CannotLog = 5;

    [Fact]
    public async Task BusyPortExitsFourWithOneLineNamingTheListener()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        int port = ((IPEndPoint)occupant.LocalEndpoint).Port;

        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", $"127.0.0.1:{port}=echo"]);

        Assert.Equal(CannotListen, result.ExitCode);
        Assert.Empty(result.Stdout);
        string line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"ferryd: cannot listen on 127.0.0.1:{port} (echo): address already in use", line);
    }

    [Fact]
    public async Task SecondFerrydOnTheSamePortIsRefused()
    {
        await using var first = await FerrydProcess.StartEchoAsync();
        var result = await ToolRun.RunAsync(Binaries.Ferryd, [first.Port().ToString()]);
        Assert.Equal(CannotListen, result.ExitCode);
        Assert.Contains("address already in use", result.Stderr);
    }

    [Fact]
    public async Task UnknownHostExitsFour()
    {
        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", "no-such-host.invalid:0"]);
        Assert.Equal(CannotListen, result.ExitCode);
        Assert.Equal("ferryd: cannot listen on no-such-host.invalid:0 (echo): unknown host 'no-such-host.invalid'", result.Stderr.Trim());
    }

    [Fact]
    public async Task AddressNotOnThisHostExitsFour()
    {
        // 192.0.2.1 is TEST-NET-1: binding fails locally, no packet is ever sent.
        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", "192.0.2.1:0"]);
        Assert.Equal(CannotListen, result.ExitCode);
        Assert.Contains("192.0.2.1:0 (echo): address not available on this host", result.Stderr);
    }

    [Theory]
    [InlineData(new string[0], "nothing to serve")]
    [InlineData(new[] { "70000" }, "PORT '70000' is not a number from 0 to 65535")]
    [InlineData(new[] { "--listen", "127.0.0.1:0=nosuch" }, "unknown service 'nosuch'")]
    [InlineData(new[] { "--listen", "::1:7" }, "put an IPv6 address in brackets")]
    [InlineData(new[] { "7", "--bogus" }, "--bogus")]
    [InlineData(new[] { "--listen", "127.0.0.1:0=echo,size=3" }, "unknown option 'size' for echo (it takes no options)")]
    [InlineData(new[] { "--listen", "127.0.0.1:0=echo,size" }, "option 'size' is not KEY=VALUE")]
    [InlineData(new[] { "7", "--log-level", "loud" }, "unknown log level 'loud'")]
    [InlineData(new[] { "7", "--shutdown-timeout", "soon" }, "--shutdown-timeout 'soon'")]
    [InlineData(new[] { "7", "--log-file", "/tmp/a", "--log-dir", "/tmp/b" }, "exclude each other")]
    public async Task BadArgumentsExitTwoWithTheUsageLine(string[] args, string problem)
    {
        var result = await ToolRun.RunAsync(Binaries.Ferryd, args);
        Assert.Equal(Usage, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ferryd: ", lines[0]);
        Assert.Contains(problem, lines[0]);
        Assert.StartsWith("Usage: ferryd", lines[1]);
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    [Fact]
    public async Task UnwritableLogFileExitsFive()
    {
        string notADirectory = Path.GetTempFileName();
        try
        {
            var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", "127.0.0.1:0", "--log-file", Path.Combine(notADirectory, "ferryd.log")]);
            Assert.Equal(CannotLog, result.ExitCode);
            Assert.StartsWith($"ferryd: cannot open log file {notADirectory}/ferryd.log:", result.Stderr.Trim());
            Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            File.Delete(notADirectory);
        }
    }

    [Fact]
    public async Task HelpExitsZeroAndNamesEveryOption()
    {
        var result = await ToolRun.RunAsync(Binaries.Ferryd, ["--help"]);
        Assert.Equal(0, result.ExitCode);
        foreach (string option in new[] { "--listen", "--log-level", "--log-file", "--log-dir", "--shutdown-timeout" })
            Assert.Contains(option, result.StdoutText);
    }

    [Fact]
    public async Task PrivilegedPortWithoutPrivilegeExitsFourSayingPermissionDenied()
    {
        string setpriv = ExternalTool.Require("setpriv");
        if (Environment.UserName != "root")
        {
            // Already unprivileged: ferryd itself meets the refusal.
            var direct = await ToolRun.RunAsync(Binaries.Ferryd, ["--listen", "127.0.0.1:1"]);
            Assert.Equal(CannotListen, direct.ExitCode);
            Assert.Contains("127.0.0.1:1 (echo): permission denied", direct.Stderr);
            return;
        }
        var result = await ToolRun.RunAsync(setpriv,
            ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", Binaries.Ferryd, "--listen", "127.0.0.1:1"]);
        Assert.Equal(CannotListen, result.ExitCode);
        Assert.Equal("ferryd: cannot listen on 127.0.0.1:1 (echo): permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
            result.Stderr.Trim());
    }
}
