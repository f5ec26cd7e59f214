using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>ferryd's TLS listeners, against openssl s_client, ferry --tls and SslStream.</summary>
public sealed class ServerTlsTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private readonly TestCertificates _certificates = new();

    public void Dispose() => _certificates.Dispose();

    private Task<FerrydProcess> StartTlsEchoAsync(string cert, string key, string extra = "") =>
        FerrydProcess.StartAsync(1, "--listen", $"127.0.0.1:0=echo,cert={cert},key={key}{extra}");

    [Fact]
    public async Task OpensslClientTalksToATlsListener()
    {
        string openssl = ExternalTool.Require("openssl");
        await using var ferryd = await StartTlsEchoAsync(_certificates.ServerCert, _certificates.ServerKey);
        await using var client = RunningProcess.Start(openssl,
            ["s_client", "-quiet", "-verify_return_error", "-CAfile", _certificates.CaFile, "-connect", $"127.0.0.1:{ferryd.Port()}"]);
        await client.StandardInput.WriteAsync("over tls\n"u8.ToArray(), TestContext.Current.CancellationToken);
        await client.StandardInput.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("over tls", await client.ReadStdoutLineAsync(Generous));
    }

    [Fact]
    public async Task FerryRefusesASelfSignedFerrydWithoutCaAndAcceptsItWithCa()
    {
        await using var ferryd = await StartTlsEchoAsync(_certificates.SelfSignedCert, _certificates.SelfSignedKey);
        string port = ferryd.Port().ToString();

        var refused = await ToolRun.RunAsync(Binaries.Ferry, ["--tls", "127.0.0.1", port], "x\n"u8.ToArray(), Generous);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("its certificate is not trusted", refused.Stderr);
        Assert.Empty(refused.Stdout);

        var accepted = await ToolRun.RunAsync(Binaries.Ferry, ["--tls", "--ca", _certificates.SelfSignedCert, "127.0.0.1", port],
            "round trip\n"u8.ToArray(), Generous);
        Assert.True(accepted.ExitCode == 0, $"exit {accepted.ExitCode}: {accepted.Stderr}");
        Assert.Equal("round trip\n", accepted.StdoutText);
    }

    [Fact]
    public async Task ClientCaRequiresAClientCertificate()
    {
        string openssl = ExternalTool.Require("openssl");
        await using var ferryd = await StartTlsEchoAsync(_certificates.ServerCert, _certificates.ServerKey, $",clientCa={_certificates.CaFile}");
        string port = ferryd.Port().ToString();

        await ToolRun.RunAsync(openssl, ["s_client", "-quiet", "-CAfile", _certificates.CaFile, "-connect", $"127.0.0.1:{port}"],
            "anonymous\n"u8.ToArray(), Generous);
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("failed: the client sent no certificate"),
            () => "no handshake failure logged: " + ferryd.Process.StandardError);
        Assert.Contains("[WRN] TLS handshake with 127.0.0.1:", ferryd.Process.StandardError);
        // The close line follows the handshake warning; our reader of ferryd's stderr may lag.
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("tls handshake failed, in 0 B"),
            () => "no close line for the failed handshake: " + ferryd.Process.StandardError);

        var withCertificate = await ToolRun.RunAsync(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, "--cert", _certificates.ClientCert, "--key", _certificates.ClientKey, "localhost", port],
            "mutual\n"u8.ToArray(), Generous);
        Assert.True(withCertificate.ExitCode == 0, $"exit {withCertificate.ExitCode}: {withCertificate.Stderr}");
        Assert.Equal("mutual\n", withCertificate.StdoutText);
    }

    [Fact]
    public async Task AClientThatNeverHandshakesIsClosedAtTheHandshakeTimeout()
    {
        await using var ferryd = await StartTlsEchoAsync(_certificates.ServerCert, _certificates.ServerKey, ",handshakeTimeout=1");
        using var silent = await Loopback.ConnectAsync(ferryd.Port());
        Assert.Equal("", await SourceBoundSocket.ReadUntilClosedAsync(silent));
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("failed: no handshake within 1 s"),
            () => "handshake timeout not logged: " + ferryd.Process.StandardError);
        Assert.False(ferryd.Process.HasExited);
    }

    [Fact]
    public async Task ReloadServesANewCertificateToNewConnectionsAndKeepsOldOnes()
    {
        await using var sandbox = new DaemonSandbox();
        string cert = Path.Combine(sandbox.Directory, "tls.pem");
        string key = Path.Combine(sandbox.Directory, "tls.key");
        File.Copy(_certificates.ServerCert, cert);
        File.Copy(_certificates.ServerKey, key);
        // Relative paths: resolved against the config file's directory, also after the daemon's chdir("/").
        sandbox.WriteConfig("""{ "Listeners": { "secure": { "Endpoint": "127.0.0.1:0", "Service": "echo", "Cert": "tls.pem", "Key": "tls.key" } } }""");
        var started = await sandbox.StartAsync("--config", sandbox.ConfigFile);
        Assert.True(started.ExitCode == 0, $"exit {started.ExitCode}: {started.Stderr}");
        int port = IPEndPoint.Parse(started.StdoutText.Trim().Split(' ')[2]).Port;

        await using var old = await TlsClient.ConnectAsync(port);
        Assert.Equal(Thumbprint(_certificates.ServerCert), old.ServerThumbprint);
        Assert.Equal("before", await old.EchoAsync("before"));

        File.Copy(_certificates.SelfSignedCert, cert, overwrite: true);
        File.Copy(_certificates.SelfSignedKey, key, overwrite: true);
        var reload = await sandbox.FerrydAsync("reload", "--pid-file", sandbox.PidFile);
        Assert.True(reload.ExitCode == 0, $"exit {reload.ExitCode}: {reload.Stderr}");

        await using (var fresh = await TlsClient.ConnectAsync(port))
        {
            Assert.Equal(Thumbprint(_certificates.SelfSignedCert), fresh.ServerThumbprint);
            Assert.Equal("new", await fresh.EchoAsync("new"));
        }
        Assert.Equal("after", await old.EchoAsync("after"));
        await ServiceProtocolTests.WaitForAsync(() => sandbox.ReadLog().Contains("new TLS certificate for echo"),
            () => "the new certificate is not in the log: " + sandbox.ReadLog());

        // A broken certificate rejects the reload; the one in use stays.
        File.WriteAllText(cert, "not a certificate\n");
        var rejected = await sandbox.FerrydAsync("reload", "--pid-file", sandbox.PidFile);
        Assert.Equal(1, rejected.ExitCode);
        Assert.Contains("reload rejected", rejected.Stderr);
        await using (var still = await TlsClient.ConnectAsync(port))
            Assert.Equal(Thumbprint(_certificates.SelfSignedCert), still.ServerThumbprint);
        Assert.Equal("kept", await old.EchoAsync("kept"));
    }

    private static string Thumbprint(string pemFile)
    {
        using var certificate = X509Certificate2.CreateFromPemFile(pemFile, Path.ChangeExtension(pemFile, ".key"));
        return certificate.Thumbprint;
    }

    /// <summary>A TLS client that accepts any certificate and remembers which one it was shown.</summary>
    private sealed class TlsClient : IAsyncDisposable
    {
        private readonly SslStream _tls;

        private TlsClient(SslStream tls, string thumbprint)
        {
            _tls = tls;
            ServerThumbprint = thumbprint;
        }

        public string ServerThumbprint { get; }

        public static async Task<TlsClient> ConnectAsync(int port)
        {
            var socket = await Loopback.ConnectAsync(port);
            string thumbprint = "";
            var tls = new SslStream(new System.Net.Sockets.NetworkStream(socket, ownsSocket: true));
            using var cts = new CancellationTokenSource(Generous);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    thumbprint = certificate is X509Certificate2 c ? c.Thumbprint : "";
                    return true;
                },
            }, cts.Token);
            return new TlsClient(tls, thumbprint);
        }

        public async Task<string> EchoAsync(string text)
        {
            using var cts = new CancellationTokenSource(Generous);
            byte[] data = Encoding.ASCII.GetBytes(text);
            await _tls.WriteAsync(data, cts.Token);
            var buffer = new byte[data.Length];
            int filled = 0;
            while (filled < buffer.Length)
            {
                int n = await _tls.ReadAsync(buffer.AsMemory(filled), cts.Token);
                if (n == 0)
                    break;
                filled += n;
            }
            return Encoding.ASCII.GetString(buffer, 0, filled);
        }

        public ValueTask DisposeAsync() => _tls.DisposeAsync();
    }
}
