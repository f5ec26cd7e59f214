using Ferry.IntegrationTests.Infrastructure;

namespace Ferry.IntegrationTests;

/// <summary>
/// ferryd and ferry treat certificates the same way, whichever side they are on: each sends the
/// intermediates that follow its certificate in its file, each builds a peer's chain with the
/// intermediates the peer sent, and each refuses a peer whose certificate is not for the peer's role.
/// </summary>
public sealed class TlsParityTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private readonly TestCertificates _certificates = new();

    public void Dispose() => _certificates.Dispose();

    [Fact]
    public async Task FerrydAcceptsAClientCertificateFromAnIntermediateThatTheClientSends()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen",
            $"127.0.0.1:0=echo,cert={_certificates.ServerCert},key={_certificates.ServerKey},clientCa={_certificates.CaFile}");
        var result = await ToolRun.RunAsync(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, "--cert", _certificates.ChainedClientCert, "--key", _certificates.ChainedClientKey,
             "localhost", ferryd.Port().ToString()],
            "chained client\n"u8.ToArray(), Generous);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}; ferryd: {ferryd.Process.StandardError}");
        Assert.Equal("chained client\n", result.StdoutText);
    }

    [Fact]
    public async Task FerryListenSendsTheIntermediatesOfItsCertificate()
    {
        string openssl = ExternalTool.Require("openssl");
        await using var listening = RunningProcess.Start(Binaries.Ferry,
            ["listen", "--tls", "--cert", _certificates.ChainedServerCert, "--key", _certificates.ChainedServerKey, "127.0.0.1:0"]);
        string port = (await listening.ReadStderrLineAsync(Generous)).Split(':')[^1];
        // Trusting only the root: verification succeeds only if ferry sent the intermediate.
        await using var client = RunningProcess.Start(openssl,
            ["s_client", "-quiet", "-verify_return_error", "-CAfile", _certificates.CaFile, "-connect", $"127.0.0.1:{port}"]);
        await client.StandardInput.WriteAsync("through the chain\n"u8.ToArray(), TestContext.Current.CancellationToken);
        await client.StandardInput.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("through the chain", await listening.ReadStdoutLineAsync(Generous));
        listening.StandardInput.Close(); // ferry's end: close_notify and FIN, so s_client ends too
        Assert.Equal(0, await client.WaitForExitAsync(Generous));
    }

    [Fact]
    public async Task FerryListenRefusesAClientWhoseCertificateIsNotForClientsAsFerrydDoes()
    {
        // The server certificate is signed by the CA but its extended key usage is serverAuth only.
        await using var listening = RunningProcess.Start(Binaries.Ferry,
            ["listen", "--tls", "--cert", _certificates.ServerCert, "--key", _certificates.ServerKey, "--ca", _certificates.CaFile, "127.0.0.1:0"]);
        string port = (await listening.ReadStderrLineAsync(Generous)).Split(':')[^1];
        await ToolRun.RunAsync(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, "--cert", _certificates.ServerCert, "--key", _certificates.ServerKey, "localhost", port],
            "x\n"u8.ToArray(), Generous);
        await ServiceProtocolTests.WaitForAsync(() => listening.StandardError.Contains("is not for client authentication"),
            () => "ferry listen accepted a server certificate from a client: " + listening.StandardError);

        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen",
            $"127.0.0.1:0=echo,cert={_certificates.ServerCert},key={_certificates.ServerKey},clientCa={_certificates.CaFile}");
        await ToolRun.RunAsync(Binaries.Ferry,
            ["--tls", "--ca", _certificates.CaFile, "--cert", _certificates.ServerCert, "--key", _certificates.ServerKey, "localhost",
             ferryd.Port().ToString()],
            "x\n"u8.ToArray(), Generous);
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("is not for client authentication"),
            () => "ferryd's refusal is not in plain words: " + ferryd.Process.StandardError);
        Assert.DoesNotContain("invalid policy", ferryd.Process.StandardError);
    }

    [Fact]
    public async Task PlainTextToATlsListenerIsLoggedInPlainWords()
    {
        await using var ferryd = await FerrydProcess.StartAsync(1, "--listen",
            $"127.0.0.1:0=echo,cert={_certificates.ServerCert},key={_certificates.ServerKey}");
        using var plain = await Loopback.ConnectAsync(ferryd.Port());
        await Loopback.SendAllAsync(plain, "GET / HTTP/1.0\r\n\r\n"u8.ToArray());
        await SourceBoundSocket.ReadUntilClosedAsync(plain);
        await ServiceProtocolTests.WaitForAsync(() => ferryd.Process.StandardError.Contains("the client did not speak TLS"),
            () => "plain text on a TLS port not described: " + ferryd.Process.StandardError);
        Assert.DoesNotContain("frame size", ferryd.Process.StandardError);
    }
}
