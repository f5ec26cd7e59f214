using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// How a TLS connection ends, as ferry reports it. Only a close_notify (then the FIN) is a
/// clean end, exit 0; an alert, a reset, or a TCP close without close_notify (a cut stream,
/// or a server dropping a client certificate it refused) is exit 1 with one line.
/// </summary>
/// <remarks>
/// Under TLS 1.3 a server checks the client's certificate after the client considers the
/// handshake done, so a refusal reaches ferry on its first read, not during the handshake.
/// The servers are openssl s_server where it can produce the ending, otherwise an SslStream
/// server in the test: .NET's (and so ferryd's) way of refusing a certificate is to close.
/// </remarks>
public sealed class ClientTlsEndingTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private readonly TestCertificates _certificates = new();

    public void Dispose() => _certificates.Dispose();

    [Fact]
    public async Task ReportsTheAlertOfAnOpensslServerRefusingAClientCertificateOfAnotherCa()
    {
        string openssl = ExternalTool.Require("openssl");
        (string foreignCert, string foreignKey) = WriteForeignClientCertificate();
        int port = Loopback.FreePort();
        // -verify_return_error: without it s_server only logs a failed verification and goes on.
        await using var server = RunningProcess.Start(openssl,
            ["s_server", "-accept", $"127.0.0.1:{port}", "-cert", _certificates.ServerCert, "-key", _certificates.ServerKey,
             "-Verify", "1", "-verify_return_error", "-CAfile", _certificates.CaFile, "-rev", "-quiet"]);
        await ListeningPorts.WaitAsync(port);

        // stdin stays open and nothing is sent: the refusal must show on the first read alone.
        await using var ferry = RunningProcess.Start(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, "--cert", foreignCert, "--key", foreignKey, "localhost", port.ToString()]);

        Assert.Equal(1, await ferry.WaitForExitAsync(Generous));
        Assert.Equal($"ferry: connection to localhost port {port}: the server sent TLS alert 'unknown ca'", ferry.StandardError.Trim());
    }

    [Fact]
    public async Task ReportsTheAlertOfAnOpensslServerMissingAClientCertificate()
    {
        string openssl = ExternalTool.Require("openssl");
        int port = Loopback.FreePort();
        await using var server = RunningProcess.Start(openssl,
            ["s_server", "-accept", $"127.0.0.1:{port}", "-cert", _certificates.ServerCert, "-key", _certificates.ServerKey,
             "-Verify", "1", "-verify_return_error", "-CAfile", _certificates.CaFile, "-rev", "-quiet"]);
        await ListeningPorts.WaitAsync(port);

        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, "localhost", port.ToString()], "lost\n"u8.ToArray(), Generous);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"ferry: connection to localhost port {port}: the server sent TLS alert 'certificate required'", result.Stderr.Trim());
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData(true, "it may have refused the client certificate")]
    [InlineData(false, "it may require a client certificate (--cert)")]
    public async Task ReportsAServerThatDropsARefusedClientWithoutAWord(bool presentCertificate, string hint)
    {
        await using var server = ScriptedTlsServer.Start(_certificates, refuseClientCertificates: true, (_, _) => Task.CompletedTask);
        string[] certificate = presentCertificate ? ["--cert", _certificates.ClientCert, "--key", _certificates.ClientKey] : [];
        // stdin stays open and nothing is sent: the server's close alone must end ferry.
        await using var ferry = RunningProcess.Start(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, .. certificate, "127.0.0.1", server.Port.ToString()]);

        Assert.Equal(1, await ferry.WaitForExitAsync(Generous));
        Assert.Equal($"ferry: connection to 127.0.0.1 port {server.Port}: the server closed the connection after the TLS handshake "
            + $"without close_notify; {hint}", ferry.StandardError.Trim());
    }

    [Fact]
    public async Task ReportsAServerThatClosesDuringTheHandshake()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["--tls", "--ca", _certificates.CaFile, "127.0.0.1", port.ToString()]);

        using var deadline = new CancellationTokenSource(Generous);
        using Socket server = await listener.AcceptAsync(deadline.Token);
        await server.ReceiveAsync(new byte[4096], SocketFlags.None, deadline.Token); // the ClientHello
        server.Shutdown(SocketShutdown.Send); // a FIN instead of a ServerHello

        Assert.Equal(1, await ferry.WaitForExitAsync(Generous));
        Assert.Equal($"ferry: TLS handshake with 127.0.0.1 port {port} failed: the server closed the connection", ferry.StandardError.Trim());
    }

    [Fact]
    public async Task ReportsAStreamCutWithoutCloseNotify()
    {
        await using var server = ScriptedTlsServer.Start(_certificates, refuseClientCertificates: false, async (socket, tls) =>
        {
            await tls.WriteAsync("first half\n"u8.ToArray());
            await tls.FlushAsync();
            socket.Close(); // the TCP connection ends here; no close_notify was sent
        });
        await using var ferry = RunningProcess.Start(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, "127.0.0.1", server.Port.ToString()]);

        Assert.Equal("first half", await ferry.ReadStdoutLineAsync(Generous));
        Assert.Equal(1, await ferry.WaitForExitAsync(Generous));
        Assert.Equal($"ferry: connection to 127.0.0.1 port {server.Port}: the server closed the connection without TLS close_notify; "
            + "what it sent may be cut short", ferry.StandardError.Trim());
    }

    [Fact]
    public async Task ReportsAnOpensslServerKilledMidStream()
    {
        string openssl = ExternalTool.Require("openssl");
        int port = Loopback.FreePort();
        await using var server = RunningProcess.Start(openssl,
            ["s_server", "-accept", $"127.0.0.1:{port}", "-cert", _certificates.ServerCert, "-key", _certificates.ServerKey, "-rev", "-quiet"]);
        await ListeningPorts.WaitAsync(port);
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["--tls", "--ca", _certificates.CaFile, "localhost", port.ToString()]);
        await ferry.StandardInput.WriteAsync("abc\n"u8.ToArray(), TestContext.Current.CancellationToken);
        await ferry.StandardInput.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("cba", await ferry.ReadStdoutLineAsync(Generous));

        // The kernel closes the dead server's socket with a FIN; no close_notify precedes it.
        server.Signal(Signals.SigKill);

        Assert.Equal(1, await ferry.WaitForExitAsync(Generous));
        Assert.Contains($"connection to localhost port {port}: the server closed the connection without TLS close_notify", ferry.StandardError);
    }

    [Fact]
    public async Task ReportsAReset()
    {
        await using var server = ScriptedTlsServer.Start(_certificates, refuseClientCertificates: false, (socket, _) =>
        {
            socket.LingerState = new LingerOption(true, 0); // close with RST
            socket.Close();
            return Task.CompletedTask;
        });
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["--tls", "--ca", _certificates.CaFile, "127.0.0.1", server.Port.ToString()]);

        Assert.Equal(1, await ferry.WaitForExitAsync(Generous));
        Assert.Equal($"ferry: connection to 127.0.0.1 port {server.Port}: connection reset by peer", ferry.StandardError.Trim());
    }

    [Fact]
    public async Task ExitsZeroAsSoonAsTheServerSendsCloseNotifyThoughStdinStaysOpen()
    {
        // The clean TLS end, and the TLS side of ferry not waiting for stdin as nc would.
        await using var server = ScriptedTlsServer.Start(_certificates, refuseClientCertificates: false, async (socket, tls) =>
        {
            await tls.WriteAsync("all of it\n"u8.ToArray());
            await tls.ShutdownAsync();
            socket.Shutdown(SocketShutdown.Send);
        });
        await using var ferry = RunningProcess.Start(Binaries.Ferry, ["--tls", "--ca", _certificates.CaFile, "127.0.0.1", server.Port.ToString()]);

        Assert.Equal("all of it", await ferry.ReadStdoutLineAsync(Generous));
        Assert.True(await ferry.WaitForExitAsync(Generous) == 0, ferry.StandardError);
    }

    [Fact]
    public async Task ListenReportsAClientThatCutsTheStreamWithoutCloseNotify()
    {
        await using var ferry = RunningProcess.Start(Binaries.Ferry,
            ["listen", "--tls", "--cert", _certificates.ServerCert, "--key", _certificates.ServerKey, "127.0.0.1:0"]);
        string listening = await ferry.ReadStderrLineAsync(Generous);
        int port = IPEndPoint.Parse(listening["listening ".Length..]).Port;

        using var socket = await Loopback.ConnectAsync(port);
        using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, TestContext.Current.CancellationToken);
        await tls.WriteAsync("half a story\n"u8.ToArray(), TestContext.Current.CancellationToken);
        await tls.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("half a story", await ferry.ReadStdoutLineAsync(Generous));
        // A FIN with no close_notify before it. (Closing the socket instead would send a reset,
        // as ferry's session tickets are still unread in it.)
        socket.Shutdown(SocketShutdown.Send);

        Assert.Equal(1, await ferry.WaitForExitAsync(Generous));
        string last = ferry.StandardError.Trim().Split('\n')[^1];
        Assert.Matches(@"^ferry: connection from 127\.0\.0\.1:\d+: the client closed the connection without TLS close_notify; what it sent may be cut short$", last);
    }

    /// <summary>A client certificate (clientAuth) that the test CA did not sign: its own, self-signed.</summary>
    private (string Cert, string Key) WriteForeignClientCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=client of another CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        string cert = Path.Combine(_certificates.Directory, "foreign-client.pem");
        string keyFile = Path.Combine(_certificates.Directory, "foreign-client.key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (cert, keyFile);
    }

    /// <summary>
    /// A TLS server for one client on a free loopback port: after the handshake it runs the
    /// given script on the socket and the TLS stream, then closes the socket. Refusing client
    /// certificates, it fails the handshake on its side and closes, as .NET servers do.
    /// </summary>
    private sealed class ScriptedTlsServer : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly Task _serving;

        private ScriptedTlsServer(TestCertificates certificates, bool refuseClientCertificates, Func<Socket, SslStream, Task> script)
        {
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(1);
            _serving = ServeAsync(certificates, refuseClientCertificates, script);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public static ScriptedTlsServer Start(TestCertificates certificates, bool refuseClientCertificates,
            Func<Socket, SslStream, Task> script) => new(certificates, refuseClientCertificates, script);

        private async Task ServeAsync(TestCertificates certificates, bool refuseClientCertificates, Func<Socket, SslStream, Task> script)
        {
            using var deadline = new CancellationTokenSource(Generous);
            using var certificate = X509Certificate2.CreateFromPemFile(certificates.ServerCert, certificates.ServerKey);
            using Socket client = await _listener.AcceptAsync(deadline.Token);
            using var tls = new SslStream(new NetworkStream(client, ownsSocket: false));
            try
            {
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = certificate,
                    ClientCertificateRequired = refuseClientCertificates,
                    RemoteCertificateValidationCallback = (_, _, _, _) => !refuseClientCertificates,
                }, deadline.Token);
            }
            catch (Exception exception) when (refuseClientCertificates && exception is AuthenticationException or IOException)
            {
                return; // refused: the socket is closed on the way out, with no alert
            }
            await script(client, tls);
            // Keep the connection until ferry has gone, so nothing but the script ends it.
            var rest = new byte[4096];
            try
            {
                while (client.Connected && await client.ReceiveAsync(rest, SocketFlags.None, deadline.Token) > 0)
                {
                }
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Dispose();
            try
            {
                await _serving.WaitAsync(Generous);
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // A test that failed early may leave the server without its client.
            }
        }
    }
}
