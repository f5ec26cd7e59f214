using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Ferry.Platform.Tls;

namespace Ferry.Client.Net;

/// <summary>Turns a connected socket into a TLS <see cref="PeerConnection"/>, as client or server.</summary>
internal static class TlsHandshake
{
    /// <summary>How long <c>ferry listen</c> gives a peer to complete its handshake.</summary>
    private const double ServerTimeoutSeconds = 30;

    /// <summary>
    /// The client's handshake, bounded by <paramref name="timeoutSeconds"/> (the connect
    /// timeout): a server that accepts the connection but never answers is not waited for forever.
    /// </summary>
    public static async Task<PeerConnection> AsClientAsync(Socket socket, string serverName, TlsSettings settings,
        string peerName, double timeoutSeconds, CancellationToken cancellationToken)
    {
        var authorities = settings.LoadAuthorities();
        var identity = settings.LoadIdentity();
        var verdict = new PeerVerdict();
        var transport = new TlsTransport(socket);
        var tls = new SslStream(transport);
        var options = new SslClientAuthenticationOptions
        {
            // SNI and the name checked against the certificate; brackets are not part of an IPv6 name.
            TargetHost = serverName.Trim('[', ']'),
            ClientCertificateContext = identity,
            RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
                settings.Insecure || TlsSettings.Verify(cert, chain, errors, authorities, PeerRole.Server, verdict),
        };
        await HandshakeAsync(tls, transport, "server", peerName, verdict, timeoutSeconds,
            token => tls.AuthenticateAsClientAsync(options, token), cancellationToken);
        return PeerConnection.Tls(socket, transport, tls);
    }

    public static async Task<PeerConnection> AsServerAsync(Socket socket, TlsSettings settings, string peerName,
        CancellationToken cancellationToken)
    {
        // TlsOptions makes --cert a usage error to leave out with `listen --tls`.
        var identity = settings.LoadIdentity()
            ?? throw new InvalidOperationException("ferry listen --tls without --cert");
        var authorities = settings.LoadAuthorities();
        var verdict = new PeerVerdict();
        var transport = new TlsTransport(socket);
        var tls = new SslStream(transport);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = identity,
            // --ca on the listening side: the peer must present a certificate signed by it.
            ClientCertificateRequired = authorities is not null,
            RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
                authorities is null || TlsSettings.Verify(cert, chain, errors, authorities, PeerRole.Client, verdict),
        };
        await HandshakeAsync(tls, transport, "client", peerName, verdict, ServerTimeoutSeconds,
            token => tls.AuthenticateAsServerAsync(options, token), cancellationToken);
        return PeerConnection.Tls(socket, transport, tls);
    }

    private static async Task HandshakeAsync(SslStream tls, TlsTransport transport, string peerRole, string peerName,
        PeerVerdict verdict, double timeoutSeconds, Func<CancellationToken, Task> authenticate, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await authenticate(deadline.Token);
        }
        catch (Exception exception) when (exception is AuthenticationException or IOException
            || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            await tls.DisposeAsync();
            string reason = verdict.Reason ?? exception switch
            {
                OperationCanceledException =>
                    $"no handshake within {timeoutSeconds.ToString(CultureInfo.InvariantCulture)} s",
                { InnerException: SocketException socketError } => SocketErrorText.Describe(socketError),
                _ when transport.Ended => $"the {peerRole} closed the connection",
                _ => TlsErrorText.Describe(exception, peerRole),
            };
            throw new CommandFailedException($"TLS handshake with {peerName} failed: {reason}");
        }
    }
}
