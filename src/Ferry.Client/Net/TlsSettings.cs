using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ferry.Client.Net;

/// <summary>
/// ferry's TLS choices: verify the peer against the system store (default) or a private CA
/// (<c>--ca</c>), or not at all (<c>--insecure</c>, said on stderr); present a certificate
/// (<c>--cert</c>/<c>--key</c>, PEM) as a client, or as the server of <c>ferry listen</c>.
/// </summary>
internal sealed record TlsSettings(string? CaFile, bool Insecure, string? CertFile, string? KeyFile)
{
    /// <summary>The PEM certificate and key, or null when none was given.</summary>
    public X509Certificate2? LoadCertificate()
    {
        if (CertFile is null)
            return null;
        try
        {
            return X509Certificate2.CreateFromPemFile(CertFile, KeyFile);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new CommandFailedException($"cannot load certificate {CertFile}{(KeyFile is null ? "" : $" with key {KeyFile}")}: {exception.Message.TrimEnd('.')}");
        }
    }

    /// <summary>The certificates of <see cref="CaFile"/>, or null when the system store is used.</summary>
    public X509Certificate2Collection? LoadAuthorities()
    {
        if (CaFile is null)
            return null;
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(CaFile);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new CommandFailedException($"cannot load CA file {CaFile}: {exception.Message.TrimEnd('.')}");
        }
        if (authorities.Count == 0)
            throw new CommandFailedException($"CA file {CaFile} holds no PEM certificate");
        return authorities;
    }

    /// <summary>
    /// Checks a peer certificate: the usual checks against the system store, or a chain to
    /// one of <paramref name="authorities"/>. The reason for a refusal is kept in
    /// <paramref name="verdict"/> for the error message.
    /// </summary>
    public static bool Verify(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors,
        X509Certificate2Collection? authorities, PeerVerdict verdict)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            return verdict.Refuse("the peer sent no certificate");
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            return verdict.Refuse("its certificate is for another name");
        if (authorities is null)
        {
            return errors == SslPolicyErrors.None
                || verdict.Refuse($"its certificate is not trusted ({Describe(chain)}); use --ca FILE for a private CA");
        }

        using var ours = new X509Chain();
        ours.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        ours.ChainPolicy.CustomTrustStore.AddRange(authorities);
        ours.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
            foreach (var element in chain.ChainElements)
                ours.ChainPolicy.ExtraStore.Add(element.Certificate);
        using var leaf = new X509Certificate2(certificate);
        return ours.Build(leaf) || verdict.Refuse($"its certificate is not signed by the CA in --ca ({Describe(ours)})");
    }

    private static string Describe(X509Chain? chain)
    {
        var statuses = chain?.ChainStatus.Select(s => s.StatusInformation.Trim().TrimEnd('.')).Where(s => s.Length > 0).Distinct().ToArray();
        return statuses is { Length: > 0 } ? string.Join("; ", statuses) : "no trusted chain";
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
