using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Ferry.Platform.Tls;

namespace Ferry.Client.Net;

/// <summary>
/// ferry's TLS choices: verify the peer against the system store (default) or a private CA
/// (<c>--ca</c>), or not at all (<c>--insecure</c>, said on stderr); present a certificate
/// (<c>--cert</c>/<c>--key</c>, PEM) as a client, or as the server of <c>ferry listen</c>.
/// </summary>
internal sealed record TlsSettings(string? CaFile, bool Insecure, string? CertFile, string? KeyFile)
{
    /// <summary>The PEM certificate, its key and the chain that follows it in its file (all sent to the peer), or null when none was given.</summary>
    public SslStreamCertificateContext? LoadIdentity()
    {
        if (CertFile is null)
            return null;
        try
        {
            return TlsCertificateFiles.LoadIdentity(CertFile, KeyFile).Context;
        }
        catch (TlsFileException exception)
        {
            throw new CommandFailedException(exception.Message);
        }
    }

    /// <summary>The certificates of <see cref="CaFile"/>, or null when the system store is used.</summary>
    public X509Certificate2Collection? LoadAuthorities()
    {
        try
        {
            return CaFile is null ? null : TlsCertificateFiles.LoadAuthorities(CaFile);
        }
        catch (TlsFileException exception)
        {
            throw new CommandFailedException(exception.Message);
        }
    }

    /// <summary>
    /// Checks a peer certificate the way ferryd checks its clients' (<see cref="PeerCertificateCheck"/>):
    /// against the system store, or a chain to one of <paramref name="authorities"/> built with the
    /// intermediates the peer sent, for the peer's role. The reason for a refusal is kept in
    /// <paramref name="verdict"/> for the error message.
    /// </summary>
    public static bool Verify(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors,
        X509Certificate2Collection? authorities, PeerRole role, PeerVerdict verdict)
    {
        string? refusal = PeerCertificateCheck.Refusal(certificate, chain, errors, authorities, role, "peer", "the CA in --ca");
        if (refusal is not null && authorities is null && role == PeerRole.Server && certificate is not null
            && !errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            refusal += "; use --ca FILE for a private CA";
        return refusal is null || verdict.Refuse(refusal);
    }
}

/// <summary>Why a peer certificate was refused, captured during the handshake.</summary>
internal sealed class PeerVerdict
{
    public string? Reason { get; private set; }

    public bool Refuse(string reason)
    {
        Reason = reason;
        return false;
    }
}
