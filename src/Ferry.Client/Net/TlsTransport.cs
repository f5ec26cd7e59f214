using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>
/// The socket under a TLS stream, remembering whether the peer's FIN has been read. That is
/// how a clean TLS end is told from a cut one: after a close_notify, SslStream returns 0
/// without reading further, so the socket has not ended yet; when the peer just closes the
/// TCP connection, the socket ends first and SslStream returns 0 all the same.
/// </summary>
internal sealed class TlsTransport(Socket socket) : NetworkStream(socket, ownsSocket: false)
{
    private volatile bool _ended;

    /// <summary>True once a read has returned end of stream.</summary>
    public bool Ended => _ended;

    // SslStream reads its inner stream through these two overloads only.
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Observe(await base.ReadAsync(buffer, cancellationToken), buffer.Length);

    public override int Read(Span<byte> buffer) => Observe(base.Read(buffer), buffer.Length);

    private int Observe(int read, int wanted)
    {
        if (read == 0 && wanted > 0)
            _ended = true;
        return read;
    }
}
