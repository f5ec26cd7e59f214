using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ferry.Daemon.Transport;
using Ferry.Platform.Tls;

namespace Ferry.Daemon.Tls;

/// <summary>
/// A TLS session over a connection's transport (server side for a TLS listener, client side for
/// forward's upstreamTls), offered as an ordinary pair of pipes so services do not know TLS is
/// there; it counts the decrypted bytes.
/// </summary>
internal sealed class TlsSession : IDuplexPipe, IByteCounts, IAsyncDisposable
{
    private readonly SslStream _tls;
    private readonly CountingStream _decrypted;

    private TlsSession(SslStream tls, IDuplexPipe transport)
    {
        _tls = tls;
        _decrypted = new CountingStream(tls);
        Input = PipeReader.Create(_decrypted, new StreamPipeReaderOptions(leaveOpen: true));
        Output = new HalfClosingWriter(PipeWriter.Create(_decrypted, new StreamPipeWriterOptions(leaveOpen: true)), tls, transport.Output);
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    public long BytesReceived => _decrypted.BytesRead;

    public long BytesSent => _decrypted.BytesWritten;

    /// <summary>
    /// Runs the handshake within <paramref name="timeout"/>. Returns the session, or the
    /// reason it failed (for the log); never throws for a peer's failure.
    /// </summary>
    public static async Task<(TlsSession? Session, string Failure)> AcceptAsync(IDuplexPipe transport, TlsCredentials credentials,
        TimeSpan timeout, CancellationToken stopping)
    {
        string? verdict = null;
        var tls = new SslStream(new DuplexPipeStream(transport), leaveInnerStreamOpen: false);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = credentials.Server,
            ClientCertificateRequired = credentials.ClientAuthorities is not null,
            RemoteCertificateValidationCallback = credentials.ClientAuthorities is null
                ? null
                : (_, certificate, chain, errors) =>
                {
                    verdict = PeerCertificateCheck.Refusal(certificate, chain, errors, credentials.ClientAuthorities,
                        PeerRole.Client, "client", "clientCa");
                    if (verdict is not null && certificate is null)
                        verdict += " (clientCa requires one)";
                    return verdict is null;
                },
        };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(timeout);
        var (session, failure) = await HandshakeAsync(tls, transport, tls.AuthenticateAsServerAsync(options, deadline.Token));
        if (failure is null)
            return (session, "");
        return (null, verdict
            ?? (failure is OperationCanceledException
                ? stopping.IsCancellationRequested ? "server shutting down" : $"no handshake within {timeout.TotalSeconds} s"
                : Describe(failure)));
    }

    /// <summary>
    /// The client side, to a server at <paramref name="host"/> (its name for SNI and the name check):
    /// its certificate is checked against <paramref name="authorities"/> or the system's store,
    /// or not at all when <paramref name="insecure"/>. Returns the session, or why it failed.
    /// </summary>
    public static async Task<(TlsSession? Session, string Failure)> ConnectAsync(IDuplexPipe transport, string host,
        X509Certificate2Collection? authorities, bool insecure, TimeSpan timeout)
    {
        string? verdict = null;
        var tls = new SslStream(new DuplexPipeStream(transport), leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                if (insecure)
                    return true;
                verdict = PeerCertificateCheck.Refusal(certificate, chain, errors, authorities, PeerRole.Server, "upstream", "upstreamCa");
                return verdict is null;
            },
        };
        using var deadline = new CancellationTokenSource(timeout);
        var (session, failure) = await HandshakeAsync(tls, transport, tls.AuthenticateAsClientAsync(options, deadline.Token));
        if (failure is null)
            return (session, "");
        return (null, verdict ?? (failure is OperationCanceledException ? $"no handshake within {timeout.TotalSeconds} s" : Describe(failure, "upstream")));
    }

    /// <summary>Awaits a handshake: the session, or what the peer's failure (or the deadline) threw, never thrown on.</summary>
    private static async Task<(TlsSession? Session, Exception? Failure)> HandshakeAsync(SslStream tls, IDuplexPipe transport, Task handshake)
    {
        try
        {
            await handshake;
            return (new TlsSession(tls, transport), null);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException
            or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            await tls.DisposeAsync();
            return (null, ex);
        }
    }

    /// <summary>Why a handshake failed, in plain words: the runtime's messages say it in .NET's.</summary>
    private static string Describe(Exception exception, string peer = "client")
    {
        string message = exception.GetBaseException().Message.TrimEnd('.');
        if (message.Contains("frame size", StringComparison.OrdinalIgnoreCase) || message.Contains("corrupted frame", StringComparison.OrdinalIgnoreCase))
            return peer == "client" ? "the client did not speak TLS (plain text sent to a TLS listener?)" : $"the {peer} did not speak TLS";
        if (exception is IOException && exception.GetBaseException() is System.Net.Sockets.SocketException or Microsoft.AspNetCore.Connections.ConnectionResetException)
            return $"the {peer} reset the connection";
        if (exception is IOException && message.Contains("EOF", StringComparison.OrdinalIgnoreCase))
            return $"the {peer} closed the connection";
        return message.Length > 0 ? char.ToLowerInvariant(message[0]) + message[1..] : "failed";
    }

    /// <summary>
    /// The session's output. <see cref="CompleteAsync"/> ends our side as a FIN does in plain TCP:
    /// what was written is sent, then a close_notify, and the peer's bytes can still be read
    /// (forward passes a half-close on this way). <see cref="Complete"/> only completes the writer.
    /// </summary>
    /// <param name="transport">The socket's own writer under the session: its FIN when no close_notify can be made.</param>
    private sealed class HalfClosingWriter(PipeWriter inner, SslStream tls, PipeWriter transport) : PipeWriter
    {
        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        private int _closeNotified;

        public override async ValueTask CompleteAsync(Exception? exception = null)
        {
            await inner.CompleteAsync(exception);
            if (exception is null && Interlocked.Exchange(ref _closeNotified, 1) == 0)
            {
                try
                {
                    await tls.ShutdownAsync();
                }
                catch (Exception ex) when (ex is not (ObjectDisposedException or OperationCanceledException))
                {
                    // OpenSSL now and then refuses the close_notify while the other direction is
                    // inside a read on the same session (SSL_ERROR_SYSCALL). Everything written is
                    // sent already: the half-close still reaches the peer, as a plain FIN.
                    await transport.CompleteAsync();
                }
            }
        }
    }

    /// <summary>Sends what the service left in the writer and a close_notify; the transport is closed by the caller.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            // What is left, then the close_notify (once: forward may have sent it already).
            await Output.CompleteAsync().AsTask().WaitAsync(deadline.Token);
            await Input.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException
            or InvalidOperationException or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            // The peer is gone or the connection was aborted; nothing more to send.
        }
        await _tls.DisposeAsync();
    }
}
