namespace Ferry.Daemon.Connections;

/// <summary>
/// Bytes moved on one connection. Counted by the service where it reads and writes, so the
/// close log line (and later, metrics) cost nothing extra per byte.
/// </summary>
internal sealed class ConnectionStats
{
    private long _bytesIn;
    private long _bytesOut;

    public long BytesIn => Interlocked.Read(ref _bytesIn);

    public long BytesOut => Interlocked.Read(ref _bytesOut);

    public void Received(long count) => Interlocked.Add(ref _bytesIn, count);

    public void Sent(long count) => Interlocked.Add(ref _bytesOut, count);
}
