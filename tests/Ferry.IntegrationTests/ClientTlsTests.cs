using System.Net;
using System.Net.Sockets;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>ferry's TLS, both ways, against openssl s_server and s_client.</summary>
public sealed class ClientTlsTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private readonly TestCertificates _certificates = new();

    public void Dispose() => _certificates.Dispose();

    [Fact]
    public async Task VerifiesTheServerAgainstThePrivateCaAndTalksThroughTls()
    {
        await using var server = await StartOpensslServerAsync(_certificates.ServerCert, _certificates.ServerKey);
        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, "localhost", server.Port.ToString()], "hello tls\n"u8.ToArray(), Generous);

        Assert.True(result.ExitCode == 0, $"ferry exited {result.ExitCode}: {result.Stderr}");
        Assert.Equal("slt olleh\n", result.StdoutText); // s_server -rev answers each line reversed
    }

    [Fact]
    public async Task RefusesAServerNotSignedByATrustedCa()
    {
        await using var server = await StartOpensslServerAsync(_certificates.SelfSignedCert, _certificates.SelfSignedKey);
        var refused = await ToolRun.RunAsync(Binaries.Ferry, ["--tls", "127.0.0.1", server.Port.ToString()], "x\n"u8.ToArray(), Generous);

        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith($"ferry: TLS handshake with 127.0.0.1 port {server.Port} failed: its certificate is not trusted", refused.Stderr.Trim());
        Assert.Contains("use --ca FILE", refused.Stderr);
        Assert.Empty(refused.Stdout);

        var wrongCa = await ToolRun.RunAsync(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, "127.0.0.1", server.Port.ToString()], "x\n"u8.ToArray(), Generous);
        Assert.Equal(1, wrongCa.ExitCode);
        Assert.Contains("not signed by the CA in --ca", wrongCa.Stderr);
    }

    [Fact]
    public async Task AcceptsASelfSignedServerWithItsCertificateAsCa()
    {
        await using var server = await StartOpensslServerAsync(_certificates.SelfSignedCert, _certificates.SelfSignedKey);
        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["--tls", "--ca", _certificates.SelfSignedCert, "127.0.0.1", server.Port.ToString()], "abc\n"u8.ToArray(), Generous);
        Assert.True(result.ExitCode == 0, $"ferry exited {result.ExitCode}: {result.Stderr}");
        Assert.Equal("cba\n", result.StdoutText);
    }

    [Fact]
    public async Task InsecureSkipsVerificationAndSaysSo()
    {
        await using var server = await StartOpensslServerAsync(_certificates.SelfSignedCert, _certificates.SelfSignedKey);
        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["--tls", "--insecure", "127.0.0.1", server.Port.ToString()], "abc\n"u8.ToArray(), Generous);
        Assert.True(result.ExitCode == 0, $"ferry exited {result.ExitCode}: {result.Stderr}");
        Assert.Equal("cba\n", result.StdoutText);
        Assert.Contains("ferry: warning: --insecure: the server's certificate is not verified", result.Stderr);
    }

    [Fact]
    public async Task RefusesACertificateForAnotherName()
    {
        // Signed by the trusted CA, but issued to "ferry test client", not to 127.0.0.1.
        await using var server = await StartOpensslServerAsync(_certificates.ClientCert, _certificates.ClientKey);
        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, "127.0.0.1", server.Port.ToString()], "x\n"u8.ToArray(), Generous);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("its certificate is for another name", result.Stderr);
    }

    [Fact]
    public async Task PresentsAClientCertificateWhenTheServerRequiresOne()
    {
        await using var server = await StartOpensslServerAsync(_certificates.ServerCert, _certificates.ServerKey,
            "-Verify", "1", "-CAfile", _certificates.CaFile);
        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, "--cert", _certificates.ClientCert, "--key", _certificates.ClientKey,
             "localhost", server.Port.ToString()], "mutual\n"u8.ToArray(), Generous);
        Assert.True(result.ExitCode == 0, $"ferry exited {result.ExitCode}: {result.Stderr}");
        Assert.Equal("lautum\n", result.StdoutText);
    }

    [Fact]
    public async Task ListenWithTlsTalksToOpensslClient()
    {
        string openssl = ExternalTool.Require("openssl");
        await using var ferry = RunningProcess.Start(Binaries.Ferry,
            ["listen", "--tls", "--cert", _certificates.ServerCert, "--key", _certificates.ServerKey, "127.0.0.1:0"]);
        int port = await ListeningPortAsync(ferry);

        await using var client = RunningProcess.Start(openssl,
            ["s_client", "-quiet", "-verify_return_error", "-CAfile", _certificates.CaFile, "-connect", $"127.0.0.1:{port}"]);
        await client.StandardInput.WriteAsync("from openssl\n"u8.ToArray(), TestContext.Current.CancellationToken);
        await client.StandardInput.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("from openssl", await ferry.ReadStdoutLineAsync(Generous));

        await ferry.StandardInput.WriteAsync("from ferry\n"u8.ToArray(), TestContext.Current.CancellationToken);
        await ferry.StandardInput.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("from ferry", await client.ReadStdoutLineAsync(Generous));
    }

    [Fact]
    public async Task ListenRequiringClientCertificatesRefusesAPeerWithoutOne()
    {
        string openssl = ExternalTool.Require("openssl");
        await using var ferry = RunningProcess.Start(Binaries.Ferry,
            ["listen", "--tls", "--keep-open", "--cert", _certificates.ServerCert, "--key", _certificates.ServerKey,
             "--ca", _certificates.CaFile, "127.0.0.1:0"]);
        int port = await ListeningPortAsync(ferry);

        var anonymous = await ToolRun.RunAsync(openssl,
            ["s_client", "-quiet", "-CAfile", _certificates.CaFile, "-connect", $"127.0.0.1:{port}"], "nobody\n"u8.ToArray(), Generous);
        await ServiceProtocolTests.WaitForAsync(() => ferry.StandardError.Contains("TLS handshake with 127.0.0.1:"),
            () => "no handshake failure reported: " + ferry.StandardError);
        Assert.Contains("the peer sent no certificate", ferry.StandardError);

        await using var known = RunningProcess.Start(openssl,
            ["s_client", "-quiet", "-CAfile", _certificates.CaFile, "-cert", _certificates.ClientCert, "-key", _certificates.ClientKey,
             "-connect", $"127.0.0.1:{port}"]);
        await known.StandardInput.WriteAsync("with a certificate\n"u8.ToArray(), TestContext.Current.CancellationToken);
        await known.StandardInput.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("with a certificate", await ferry.ReadStdoutLineAsync(Generous));
        Assert.DoesNotContain("nobody", ferry.StandardError);
    }

    [Theory]
    [InlineData("--ca /tmp/x.pem 127.0.0.1 7", "need --tls", "Usage: ferry [-u] HOST PORT")]
    [InlineData("--tls --insecure --ca /tmp/x.pem 127.0.0.1 7", "exclude each other", "Usage: ferry [-u] HOST PORT")]
    [InlineData("--tls --key /tmp/x.key 127.0.0.1 7", "--key needs --cert", "Usage: ferry [-u] HOST PORT")]
    [InlineData("listen --cert /tmp/x.pem 127.0.0.1:0", "need --tls", "Usage: ferry listen [-u] [ADDR:]PORT")]
    // Before anything listens: not a listener that fails only when the first peer arrives.
    [InlineData("listen --tls 127.0.0.1:0", "listen --tls needs --cert FILE", "Usage: ferry listen [-u] [ADDR:]PORT")]
    public Task MisusedTlsOptionsAreUsageErrors(string commandLine, string problem, string usage) =>
        ClientUsage.AssertRefusedAsync(commandLine, problem, usage);

    [Fact]
    public async Task TheHandshakeIsBoundedByTheConnectTimeout()
    {
        // A plain TCP listener that accepts (the kernel completes the connection) but never
        // speaks TLS: without a bound, ferry would wait for its ServerHello forever.
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        silent.Listen(1);
        int port = ((IPEndPoint)silent.LocalEndPoint!).Port;

        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["--tls", "-w", "1", "127.0.0.1", port.ToString()]);
        Assert.Equal(1, await ferry.WaitForExitAsync(Generous));
        Assert.Equal($"ferry: TLS handshake with 127.0.0.1 port {port} failed: no handshake within 1 s", ferry.StandardError.Trim());
    }

    private static async Task<int> ListeningPortAsync(RunningProcess ferry)
    {
        string listening = await ferry.ReadStderrLineAsync(Generous);
        Assert.StartsWith("listening ", listening);
        return IPEndPoint.Parse(listening["listening ".Length..]).Port;
    }

    private sealed class OpensslServer(RunningProcess process, int port) : IAsyncDisposable
    {
        public int Port { get; } = port;

        public ValueTask DisposeAsync() => process.DisposeAsync();
    }

    private static async Task<OpensslServer> StartOpensslServerAsync(string cert, string key, params string[] extra)
    {
        string openssl = ExternalTool.Require("openssl");
        int port = Loopback.FreePort();
        var process = RunningProcess.Start(openssl,
            ["s_server", "-accept", $"127.0.0.1:{port}", "-cert", cert, "-key", key, "-rev", "-quiet", .. extra]);
        await ListeningPorts.WaitAsync(port);
        return new OpensslServer(process, port);
    }
}
