using System.IO.Pipelines;
using System.Security.Cryptography.X509Certificates;
using Ferry.Daemon.Tls;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services.Forward;

/// <summary>
/// TLS towards a forward's upstreams (<c>upstreamTls=on</c>): the CA file was read with the
/// settings (<see cref="UpstreamTls.Authorities"/>); each pair runs its handshake with SNI and the
/// name check from the upstream's host name in <c>to=</c>. Skipping verification
/// (<c>upstreamInsecure=on</c>) is said once, at start.
/// </summary>
internal sealed partial class UpstreamTlsClient
{
    private readonly X509Certificate2Collection? _authorities;
    private readonly bool _insecure;
    private readonly TimeSpan _handshakeTimeout;

    public UpstreamTlsClient(UpstreamTls settings, TimeSpan handshakeTimeout, string listener, ILogger logger)
    {
        _authorities = settings.Authorities;
        _insecure = settings.Insecure;
        _handshakeTimeout = handshakeTimeout;
        if (_insecure)
            InsecureUpstreams(logger, listener);
    }
    /// <returns>The session, or null and why the handshake failed.</returns>
    public async Task<(TlsSession? Session, string Failure)> ConnectAsync(IDuplexPipe transport, string host) =>
        await TlsSession.ConnectAsync(transport, host, _authorities, _insecure, _handshakeTimeout);

    [LoggerMessage(EventId = 66, Level = LogLevel.Warning,
        Message = "{Listener}: upstreamInsecure=on: upstream certificates are not verified; anyone on the path can read and change the traffic")]
    private static partial void InsecureUpstreams(ILogger logger, string listener);
}
