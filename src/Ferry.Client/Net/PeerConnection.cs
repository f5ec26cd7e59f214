using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace Ferry.Client.Net;

/// <summary>
/// A connected peer as the relay sees it: a byte stream over the socket, plain or TLS, and
/// a half-close that works for both (TLS sends close_notify before the FIN). Every failure of
/// the connection, and every end that is not a clean one (a FIN, or for TLS a close_notify),
/// surfaces as <see cref="PeerConnectionException"/>, so callers can tell a broken
/// connection from a broken stdin or stdout.
/// </summary>
internal sealed class PeerConnection : IDisposable
{
    private readonly Stream _stream;
    private readonly TlsTransport? _transport;
    private long _received;

    private PeerConnection(Socket socket, Stream stream, TlsTransport? transport)
    {
        Socket = socket;
        _stream = stream;
        _transport = transport;
    }

    public Socket Socket { get; }

    public static PeerConnection Plain(Socket socket) => new(socket, new NetworkStream(socket, ownsSocket: false), null);

    /// <summary>A TLS connection whose <paramref name="tls"/> stream sits on <paramref name="transport"/>.</summary>
    public static PeerConnection Tls(Socket socket, TlsTransport transport, SslStream tls) => new(socket, tls, transport);

    /// <summary>
    /// Receives some bytes; 0 means the peer closed cleanly. A TLS peer that closes the TCP
    /// connection without close_notify may have been cut off (or have dropped us after the
    /// handshake, as a server refusing our certificate does), so that is a failure too.
    /// </summary>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int received;
        try
        {
            received = await _stream.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception exception) when (exception is IOException or AuthenticationException)
        {
            throw Failure(exception);
        }
        if (received == 0 && _transport is { Ended: true })
            throw new PeerConnectionException(CutOff());
        _received += received;
        return received;
    }

    /// <summary>Sends the whole chunk.</summary>
    public async ValueTask SendAllAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.WriteAsync(chunk, cancellationToken);
        }
        catch (Exception exception) when (exception is IOException or AuthenticationException)
        {
            throw Failure(exception);
        }
    }

    /// <summary>Tells the peer our side is done; its replies can still arrive.</summary>
    public async Task HalfCloseAsync()
    {
        if (_stream is SslStream tls)
            await SendCloseNotifyAsync(tls);
        try
        {
            Socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException exception)
        {
            throw new PeerConnectionException(SocketErrorText.Describe(exception));
        }
    }

    private string PeerRole => _stream is SslStream { IsServer: true } ? "client" : "server";

    private PeerConnectionException Failure(Exception exception)
    {
        if (exception.InnerException is SocketException socketError)
            return new PeerConnectionException(SocketErrorText.Describe(socketError));
        // SslStream's "unexpected EOF" when the socket ends inside a TLS record.
        if (_transport is { Ended: true })
            return new PeerConnectionException(CutOff());
        return new PeerConnectionException(TlsErrorText.Describe(exception, PeerRole));
    }

    private string CutOff()
    {
        if (_stream is not SslStream { IsServer: false } tls || _received > 0)
            return $"the {PeerRole} closed the connection without TLS close_notify; what it sent may be cut short";
        // Under TLS 1.3 a server checks our certificate only after we consider the handshake
        // done, and one that refuses it may just close: this is where that shows.
        const string Closed = "the server closed the connection after the TLS handshake without close_notify";
        return tls.LocalCertificate is null
            ? $"{Closed}; it may require a client certificate (--cert)"
            : $"{Closed}; it may have refused the client certificate";
    }

    /// <summary>
    /// TLS peers (openssl s_server among them) want close_notify before the FIN. Right after a
    /// TLS 1.3 handshake OpenSSL may still count the session as in its handshake (post-handshake
    /// messages not yet read by the concurrent reader) and refuse with "shutdown while in init";
    /// seen under load. It clears within milliseconds, so try again briefly; if it never does,
    /// the FIN alone must do.
    /// </summary>
    private static async Task SendCloseNotifyAsync(SslStream tls)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await tls.ShutdownAsync();
                return;
            }
            catch (IOException exception) when (exception.InnerException is SocketException gone)
            {
                // The peer is gone before our close_notify: a connection failure, not an input one.
                throw new PeerConnectionException(SocketErrorText.Describe(gone));
            }
            catch (Exception exception) when (exception is not OperationCanceledException && attempt < CloseNotifyAttempts)
            {
                await Task.Delay(CloseNotifyRetryDelay);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                return;
            }
        }
    }

    private const int CloseNotifyAttempts = 50;
    private static readonly TimeSpan CloseNotifyRetryDelay = TimeSpan.FromMilliseconds(20);

    public void Dispose()
    {
        _stream.Dispose();
        Socket.Dispose();
    }
}
