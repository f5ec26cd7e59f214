using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>
/// A private CA, a server certificate it signed (for localhost and 127.0.0.1), a client
/// certificate it signed, and an unrelated self-signed server certificate, written as PEM
/// files for ferry, ferryd and openssl to use. Made fresh for each test class.
/// </summary>
internal sealed class TestCertificates : IDisposable
{
    // One instant for every validity period: each certificate must end no later than its issuer.
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;

    public TestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("ferry-tls-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Ferry Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(_now.AddDays(-1), _now.AddDays(3));
        Write("ca.pem", ca.ExportCertificatePem());

        Issue(ca, "server", "CN=localhost", serverAuth: true);
        Issue(ca, "client", "CN=ferry test client", serverAuth: false);

        // An intermediate CA under the root, and a server and a client certificate it issued,
        // each written with the intermediate after it, as a real chain file is.
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var intermediateRequest = new CertificateRequest("CN=Ferry Test Intermediate CA", intermediateKey, HashAlgorithmName.SHA256);
        intermediateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        intermediateRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var intermediatePublic = intermediateRequest.Create(ca, _now.AddDays(-1), _now.AddDays(2),
            RandomNumberGenerator.GetBytes(12));
        using var intermediate = intermediatePublic.CopyWithPrivateKey(intermediateKey);
        Issue(intermediate, "chained-server", "CN=localhost", serverAuth: true, chain: intermediate.ExportCertificatePem());
        Issue(intermediate, "chained-client", "CN=ferry chained client", serverAuth: false, chain: intermediate.ExportCertificatePem());

        using var selfKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var selfRequest = ServerRequest("CN=localhost", selfKey, serverAuth: true);
        using var self = selfRequest.CreateSelfSigned(_now.AddDays(-1), _now.AddDays(2));
        Write("self.pem", self.ExportCertificatePem());
        Write("self.key", selfKey.ExportPkcs8PrivateKeyPem());
    }

    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, "ca.pem");

    public string ServerCert => Path.Combine(Directory, "server.pem");

    public string ServerKey => Path.Combine(Directory, "server.key");

    public string ClientCert => Path.Combine(Directory, "client.pem");

    public string ClientKey => Path.Combine(Directory, "client.key");

    /// <summary>A server certificate issued by an intermediate CA, followed by that intermediate.</summary>
    public string ChainedServerCert => Path.Combine(Directory, "chained-server.pem");

    public string ChainedServerKey => Path.Combine(Directory, "chained-server.key");

    /// <summary>A client certificate issued by an intermediate CA, followed by that intermediate.</summary>
    public string ChainedClientCert => Path.Combine(Directory, "chained-client.pem");

    public string ChainedClientKey => Path.Combine(Directory, "chained-client.key");

    public string SelfSignedCert => Path.Combine(Directory, "self.pem");

    public string SelfSignedKey => Path.Combine(Directory, "self.key");

    private void Issue(X509Certificate2 ca, string name, string subject, bool serverAuth, string chain = "")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = ServerRequest(subject, key, serverAuth);
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        using var certificate = request.Create(ca, _now.AddDays(-1), _now.AddDays(1), serial);
        Write($"{name}.pem", certificate.ExportCertificatePem() + "\n" + chain);
        Write($"{name}.key", key.ExportPkcs8PrivateKeyPem());
    }

    private static CertificateRequest ServerRequest(string subject, ECDsa key, bool serverAuth)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }
        return request;
    }

    private void Write(string file, string pem) => File.WriteAllText(Path.Combine(Directory, file), pem);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
