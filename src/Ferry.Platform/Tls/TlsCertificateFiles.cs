using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ferry.Platform.Tls;

/// <summary>
/// PEM files as TLS needs them, read the same way by ferryd and ferry: a certificate with its
/// private key and the intermediates that follow it in its file (all of which are sent to the
/// peer, as a server's or a client's chain), and CA files to verify peers against.
/// </summary>
public static class TlsCertificateFiles
{
    /// <summary>
    /// The certificate of <paramref name="certificateFile"/> with its key (from
    /// <paramref name="keyFile"/>, or the same file) and the chain to send with it.
    /// </summary>
    public static (SslStreamCertificateContext Context, X509Certificate2 Leaf) LoadIdentity(string certificateFile, string? keyFile)
    {
        string files = keyFile is null ? certificateFile : $"{certificateFile}, {keyFile}";
        X509Certificate2 leaf;
        var all = new X509Certificate2Collection();
        try
        {
            leaf = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            all.ImportFromPemFile(certificateFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TlsFileException($"cannot read TLS certificate or key ({files}): {Reason(ex)}");
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new TlsFileException($"TLS certificate and key ({files}) are not a PEM certificate with its matching private key: {Reason(ex)}");
        }
        if (!leaf.HasPrivateKey)
            throw new TlsFileException($"TLS certificate {certificateFile} has no private key (give its key file too)");
        var intermediates = new X509Certificate2Collection();
        foreach (var certificate in all)
        {
            if (certificate.Thumbprint != leaf.Thumbprint)
                intermediates.Add(certificate);
        }
        // offline: never fetch missing intermediates from the network (a reload must not hang on it).
        return (SslStreamCertificateContext.Create(leaf, intermediates, offline: true), leaf);
    }

    /// <summary>Every certificate in a PEM file of CA certificates; at least one.</summary>
    public static X509Certificate2Collection LoadAuthorities(string caFile)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(caFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new TlsFileException($"cannot read CA file {caFile}: {Reason(ex)}");
        }
        if (authorities.Count == 0)
            throw new TlsFileException($"CA file {caFile} holds no PEM certificate");
        return authorities;
    }

    private static string Reason(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException => "permission denied",
        _ => ex.Message.TrimEnd('.'),
    };
}
