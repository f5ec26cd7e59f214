namespace Ferry.Daemon.Tls;

/// <summary>
/// A non-seekable stream that is only ever used asynchronously (SslStream over the transport,
/// pipes over SslStream): the boilerplate of <see cref="Stream"/> in one place, and a blocking
/// call, which would be a bug here, fails loudly.
/// </summary>
internal abstract class AsyncOnlyStream : Stream
{
    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous read");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous write");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
