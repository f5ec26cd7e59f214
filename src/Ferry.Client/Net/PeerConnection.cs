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
        catch (IOException exception) when (exception.InnerException is SocketException socketError)
        {
            throw socketError;
        }
    }

    /// <summary>Sends the whole chunk.</summary>
    public async ValueTask SendAllAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.WriteAsync(chunk, cancellationToken);
        }
        catch (IOException exception) when (exception.InnerException is SocketException socketError)
        {
            throw socketError;
        }
    }

    /// <summary>Tells the peer our side is done; its replies can still arrive.</summary>
    public async Task HalfCloseAsync()
    {
        if (_stream is SslStream tls)
        {
            try
            {
                await tls.ShutdownAsync();
            }
            catch (IOException exception) when (exception.InnerException is SocketException gone)
            {
                // The peer is gone before our close_notify: a connection failure, not an input one.
                throw gone;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // OpenSSL can refuse close_notify while it still counts the session as in its
                // handshake ("shutdown while in init", seen under load with TLS 1.3). The FIN
                // below still tells the peer our side is done; servers take it as end of input.
            }
        }
        Socket.Shutdown(SocketShutdown.Send);
    }

    public void Dispose()
    {
        _stream.Dispose();
        Socket.Dispose();
    }
}
