using System.Net.Security;
using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>
/// A connected peer as the relay sees it: a byte stream over the socket, plain or TLS, and
/// a half-close that works for both (TLS sends close_notify before the FIN). Transport
/// failures surface as <see cref="SocketException"/> whichever stream is in use, so callers
/// can tell a broken connection from a broken stdout.
/// </summary>
internal sealed class PeerConnection : IDisposable
{
    private readonly Stream _stream;

    private PeerConnection(Socket socket, Stream stream)
    {
        Socket = socket;
        _stream = stream;
    }

    public Socket Socket { get; }

    public static PeerConnection Plain(Socket socket) => new(socket, new NetworkStream(socket, ownsSocket: false));

    public static PeerConnection Tls(Socket socket, SslStream tls) => new(socket, tls);

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await _stream.ReadAsync(buffer, cancellationToken);
        }
        catch (IOException exception)
        {
            throw AsConnectionFailure(exception);
        }
    }

    /// <summary>
    /// An IOException from the connection's stream is the connection's failure, never the
    /// output's: the socket error itself, or, for a TLS protocol error, one line saying so.
    /// </summary>
    private static Exception AsConnectionFailure(IOException exception)
    {
        if (exception.InnerException is SocketException socketError)
            return socketError;
        return new CommandFailedException($"TLS connection failed: {exception.GetBaseException().Message.TrimEnd('.')}");
    }

    /// <summary>Sends the whole chunk.</summary>
    public async ValueTask SendAllAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.WriteAsync(chunk, cancellationToken);
        }
        catch (IOException exception)
        {
            throw AsConnectionFailure(exception);
        }
    }

    /// <summary>Tells the peer our side is done; its replies can still arrive.</summary>
    public async Task HalfCloseAsync()
    {
        if (_stream is SslStream tls)
            await SendCloseNotifyAsync(tls);
        Socket.Shutdown(SocketShutdown.Send);
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
                throw gone;
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
