using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ferry.Platform.Tls;

/// <summary>What a peer's certificate is checked for: being a server (by name) or a client.</summary>
public enum PeerRole
{
    Server,
    Client,
}

/// <summary>
/// The one check of a peer's certificate, for ferryd's clientCa and for ferry's --ca on either
/// side: a chain to one of the given CAs, built with the intermediates the peer sent; the
/// certificate allowed for the peer's role (extended key usage serverAuth or clientAuth, where
/// the certificate restricts it at all); and for a server, the name (SslStream checks that).
/// Without CAs of our own, a server is checked against the system's store as SslStream does.
/// Returns null when the certificate is accepted, else one sentence saying why not.
/// </summary>
/// <remarks>
/// <c>peerName</c> ("client", "peer", "server") and <c>authoritiesName</c> ("clientCa", "the CA in
/// --ca") only word the sentence for the program that asks.
/// </remarks>
public static class PeerCertificateCheck
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    public static string? Refusal(X509Certificate? certificate, X509Chain? sent, SslPolicyErrors errors,
        X509Certificate2Collection? authorities, PeerRole role, string peerName, string authoritiesName)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            return $"the {peerName} sent no certificate";
        if (role == PeerRole.Server && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            return "its certificate is for another name";
        if (authorities is null)
        {
            return (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None
                ? null
                : $"its certificate is not trusted ({Describe(sent)})";
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (sent is not null)
        {
            foreach (var element in sent.ChainElements)
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        using var presented = new X509Certificate2(certificate);
        if (!chain.Build(presented))
            return $"its certificate '{presented.Subject}' is not signed by {authoritiesName} ({Describe(chain)})";
        if (!AllowsRole(presented, role))
        {
            string purpose = role == PeerRole.Client ? "client authentication (clientAuth)" : "server authentication (serverAuth)";
            return $"its certificate '{presented.Subject}' is not for {purpose}: its extended key usage does not allow it";
        }
        return null;
    }

    /// <summary>True when the certificate has no extended key usage (any use) or lists the role's.</summary>
    private static bool AllowsRole(X509Certificate2 certificate, PeerRole role)
    {
        string wanted = role == PeerRole.Client ? ClientAuthentication : ServerAuthentication;
        var usage = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        return usage is null || usage.EnhancedKeyUsages.Cast<Oid>().Any(oid => oid.Value == wanted);
    }

    private static string Describe(X509Chain? chain)
    {
        var statuses = chain?.ChainStatus.Select(s => s.StatusInformation.Trim().TrimEnd('.')).Where(s => s.Length > 0).Distinct().ToArray();
        return statuses is { Length: > 0 } ? string.Join("; ", statuses) : "no trusted chain";
    }
}
