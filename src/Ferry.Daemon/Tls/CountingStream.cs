namespace Ferry.Daemon.Tls;

/// <summary>
/// A TLS session's decrypted stream with its bytes counted as the service reads and writes them,
/// so a TLS connection's close line and first-byte timeout speak of the service's bytes, not
/// of handshakes and record overhead.
/// </summary>
internal sealed class CountingStream(Stream inner) : AsyncOnlyStream
{
    private long _read;
    private long _written;

    public long BytesRead => Interlocked.Read(ref _read);

    public long BytesWritten => Interlocked.Read(ref _written);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read = await inner.ReadAsync(buffer, cancellationToken);
        Interlocked.Add(ref _read, read);
        return read;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken);
        Interlocked.Add(ref _written, buffer.Length);
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
}
