using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ferry.Daemon.Services;

namespace Ferry.Daemon.Tls;

/// <summary>The PEM files a TLS listener was configured with (absolute paths).</summary>
internal sealed record TlsFiles(string Certificate, string? Key, string? ClientCa);

/// <summary>One loaded set of credentials: what a handshake uses, all from the same reload.</summary>
internal sealed record TlsCredentials(SslStreamCertificateContext Server, X509Certificate2 Leaf, X509Certificate2Collection? ClientAuthorities)
{
    public string Describe() => $"{Leaf.Subject}, expires {Leaf.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC";
}

/// <summary>
/// A TLS listener's certificate, read per handshake, so a reload can put a new one in place
/// for new connections while connections already established keep the session they have.
/// </summary>
internal sealed class ListenerTls
{
    private TlsCredentials _current;

    private ListenerTls(TlsFiles files, TlsCredentials current)
    {
        Files = files;
        _current = current;
    }

    public TlsFiles Files { get; }

    public TlsCredentials Current => Volatile.Read(ref _current);

    /// <summary>Reads the files; a missing file, bad PEM or a key that does not match is a <see cref="ServiceOptionException"/>.</summary>
    public static ListenerTls Load(TlsFiles files) => new(files, Read(files));

    /// <summary>Takes the credentials another load of the same listener read (reload); true if they differ.</summary>
    public bool Adopt(ListenerTls newer)
    {
        var previous = Interlocked.Exchange(ref _current, newer.Current);
        return previous.Leaf.Thumbprint != newer.Current.Leaf.Thumbprint
            || (previous.ClientAuthorities?.Count ?? 0) != (newer.Current.ClientAuthorities?.Count ?? 0);
    }

    private static TlsCredentials Read(TlsFiles files)
    {
        X509Certificate2 leaf;
        var chain = new X509Certificate2Collection();
        try
        {
            leaf = X509Certificate2.CreateFromPemFile(files.Certificate, files.Key);
            // A PEM file may carry the intermediates after the leaf; clients need them sent.
            chain.ImportFromPemFile(files.Certificate);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ServiceOptionException($"cannot read TLS certificate or key ({Describe(files)}): {ex.Message}");
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new ServiceOptionException($"TLS certificate and key ({Describe(files)}) are not a PEM certificate with its matching private key: {ex.Message}");
        }
        if (!leaf.HasPrivateKey)
            throw new ServiceOptionException($"TLS certificate {files.Certificate} has no private key (give key=FILE)");
        var intermediates = new X509Certificate2Collection();
        foreach (var certificate in chain)
        {
            if (certificate.Thumbprint != leaf.Thumbprint)
                intermediates.Add(certificate);
        }
        // offline: never fetch missing intermediates from the network during a reload.
        var context = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
        return new TlsCredentials(context, leaf, files.ClientCa is null ? null : ReadAuthorities(files.ClientCa));
    }

    private static X509Certificate2Collection ReadAuthorities(string path)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ServiceOptionException($"cannot read clientCa {path}: {ex.Message}");
        }
        if (authorities.Count == 0)
            throw new ServiceOptionException($"clientCa {path} holds no PEM certificate");
        return authorities;
    }

    private static string Describe(TlsFiles files) => files.Key is null ? files.Certificate : $"{files.Certificate}, {files.Key}";
}
