using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace Ferry.Client.Net;

/// <summary>Turns a connected socket into a TLS <see cref="PeerConnection"/>, as client or server.</summary>
internal static class TlsHandshake
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static async Task<PeerConnection> AsClientAsync(Socket socket, string serverName, TlsSettings settings,
        string peerName, CancellationToken cancellationToken)
    {
        var authorities = settings.LoadAuthorities();
        var certificate = settings.LoadCertificate();
        var verdict = new PeerVerdict();
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        var options = new SslClientAuthenticationOptions
        {
            // SNI and the name checked against the certificate; brackets are not part of an IPv6 name.
            TargetHost = serverName.Trim('[', ']'),
            ClientCertificates = certificate is null ? null : [certificate],
            RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
                settings.Insecure || TlsSettings.Verify(cert, chain, errors, authorities, verdict),
        };
        await HandshakeAsync(tls, peerName, verdict, token => tls.AuthenticateAsClientAsync(options, token), cancellationToken);
        return PeerConnection.Tls(socket, tls);
    }

    public static async Task<PeerConnection> AsServerAsync(Socket socket, TlsSettings settings, string peerName,
        CancellationToken cancellationToken)
    {
        var certificate = settings.LoadCertificate()
            ?? throw new CommandFailedException("--tls with listen needs --cert FILE (and --key FILE unless the key is in it)");
        var authorities = settings.LoadAuthorities();
        var verdict = new PeerVerdict();
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            // --ca on the listening side: the peer must present a certificate signed by it.
            ClientCertificateRequired = authorities is not null,
            RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
                authorities is null || TlsSettings.Verify(cert, chain, errors & ~SslPolicyErrors.RemoteCertificateNameMismatch, authorities, verdict),
        };
        await HandshakeAsync(tls, peerName, verdict, token => tls.AuthenticateAsServerAsync(options, token), cancellationToken);
        return PeerConnection.Tls(socket, tls);
    }

    private static async Task HandshakeAsync(SslStream tls, string peerName, PeerVerdict verdict,
        Func<CancellationToken, Task> authenticate, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Deadline);
        try
        {
            await authenticate(deadline.Token);
        }
        catch (Exception exception) when (exception is AuthenticationException or IOException
            || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            await tls.DisposeAsync();
            string reason = verdict.Reason
                ?? (exception is OperationCanceledException ? $"no handshake within {Deadline.TotalSeconds} s" : Innermost(exception));
            throw new CommandFailedException($"TLS handshake with {peerName} failed: {reason}");
        }
    }

    private static string Innermost(Exception exception) => exception.GetBaseException().Message.TrimEnd('.').ToLowerInvariant();
}
