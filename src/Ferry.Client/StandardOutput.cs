using Ferry.Platform.Linux;

namespace Ferry.Client;

/// <summary>
/// The process's stdout as an unbuffered byte stream that makes plain write(2) calls on
/// descriptor 1 and reports a failed write with its errno.
/// </summary>
/// <remarks>
/// Neither stream the runtime offers will do. The console stream silently discards writes
/// that fail with EPIPE, so behind <c>| head -c 10</c> ferry would drain the socket forever;
/// a FileStream reports a closed descriptor as "access denied", losing the errno, and on a
/// regular file writes at its own offset (pwrite), clobbering output that shares the
/// descriptor, as in <c>(ferry ...; echo done) &gt; log</c>. write(2) writes at the shared
/// offset (and honours O_APPEND) whatever the descriptor is.
/// </remarks>
internal sealed class StandardOutput : Stream
{
    private const int Descriptor = 1;
    private const int Forever = -1;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Writes everything, or throws an <see cref="IOException"/> whose message describes the
    /// errno in lower case ("broken pipe", "no space left on device", "bad file descriptor")
    /// and whose HResult is the errno.
    /// </summary>
    public override unsafe void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            for (nint at = 0; at < buffer.Length;)
            {
                nint written = DescriptorCalls.Write(Descriptor, start + at, buffer.Length - at);
                if (written >= 0)
                {
                    at += written;
                    continue;
                }
                int errno = Errno.Last;
                if (errno == Errno.Interrupted)
                    continue;
                if (errno == Errno.WouldBlock)
                {
                    // A non-blocking descriptor inherited from the parent (shared with it, so
                    // not ours to change): wait until it takes more.
                    var wanted = new DescriptorCalls.PollDescriptor { Descriptor = Descriptor, Events = DescriptorCalls.PollOut };
                    DescriptorCalls.Poll(ref wanted, 1, Forever);
                    continue;
                }
                throw new IOException(Errno.Describe(errno), errno);
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <summary>
    /// A write blocks while a pipe is full, so it runs on a pool thread; it cannot be
    /// cancelled once started (callers that must not wait use WaitAsync).
    /// </summary>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(Task.Run(() => Write(buffer.Span), cancellationToken));

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
        // Nothing is buffered.
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
