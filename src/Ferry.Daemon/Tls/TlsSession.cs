using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ferry.Daemon.Transport;

namespace Ferry.Daemon.Tls;

/// <summary>
/// A server-side TLS session over a connection's transport, offered to the service as an
/// ordinary pair of pipes so services do not know TLS is there; it counts the decrypted bytes.
/// </summary>
internal sealed class TlsSession : IDuplexPipe, IByteCounts, IAsyncDisposable
{
    private readonly SslStream _tls;
    private readonly CountingStream _decrypted;

    private TlsSession(SslStream tls)
    {
        _tls = tls;
        _decrypted = new CountingStream(tls);
        Input = PipeReader.Create(_decrypted, new StreamPipeReaderOptions(leaveOpen: true));
        Output = PipeWriter.Create(_decrypted, new StreamPipeWriterOptions(leaveOpen: true));
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    public long BytesReceived => _decrypted.BytesRead;

    public long BytesSent => _decrypted.BytesWritten;

    /// <summary>
    /// Runs the handshake within <paramref name="timeout"/>. Returns the session, or the
    /// reason it failed (for the log); never throws for a peer's failure.
    /// </summary>
    public static async Task<(TlsSession? Session, string Failure)> AcceptAsync(IDuplexPipe transport, TlsCredentials credentials,
        TimeSpan timeout, CancellationToken stopping)
    {
        string? verdict = null;
        var tls = new SslStream(new DuplexPipeStream(transport), leaveInnerStreamOpen: false);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = credentials.Server,
            ClientCertificateRequired = credentials.ClientAuthorities is not null,
            RemoteCertificateValidationCallback = credentials.ClientAuthorities is null
                ? null
                : (_, certificate, _, _) => VerifyClient(certificate, credentials.ClientAuthorities, out verdict),
        };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(timeout);
        try
        {
            await tls.AuthenticateAsServerAsync(options, deadline.Token);
            return (new TlsSession(tls), "");
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException
            or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            await tls.DisposeAsync();
            string reason = verdict
                ?? (ex is OperationCanceledException
                    ? stopping.IsCancellationRequested ? "server shutting down" : $"no handshake within {timeout.TotalSeconds} s"
                    : Innermost(ex));
            return (null, reason);
        }
    }

    private static bool VerifyClient(X509Certificate? certificate, X509Certificate2Collection authorities, out string? verdict)
    {
        if (certificate is null)
        {
            verdict = "the client sent no certificate (clientCa requires one)";
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // clientAuth
        var presented = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        if (chain.Build(presented))
        {
            verdict = null;
            return true;
        }
        string problems = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        verdict = $"client certificate '{presented.Subject}' is not accepted by clientCa: {problems}";
        return false;
    }

    private static string Innermost(Exception exception) => exception.GetBaseException().Message.TrimEnd('.');

    /// <summary>Sends what the service left in the writer and a close_notify; the transport is closed by the caller.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await Output.CompleteAsync();
            await Input.CompleteAsync();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await _tls.ShutdownAsync().WaitAsync(deadline.Token);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException
            or InvalidOperationException or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            // The peer is gone or the connection was aborted; nothing more to send.
        }
        await _tls.DisposeAsync();
    }
}
