using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Ferry.Daemon.Services;
using Ferry.Platform.Tls;

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
        try
        {
            var (context, leaf) = TlsCertificateFiles.LoadIdentity(files.Certificate, files.Key);
            var authorities = files.ClientCa is null ? null : TlsCertificateFiles.LoadAuthorities(files.ClientCa);
            return new TlsCredentials(context, leaf, authorities);
        }
        catch (TlsFileException ex)
        {
            throw new ServiceOptionException(ex.Message);
        }
    }
}
