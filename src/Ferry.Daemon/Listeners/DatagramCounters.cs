namespace Ferry.Daemon.Listeners;

/// <summary>
/// What a udp: listener's datagrams did, for the status and the metrics. Written by the socket
/// thread that serves the listener (and forward's sessions, and during a reload the listener it
/// replaces), read by anyone (each count on its own).
/// </summary>
internal sealed class DatagramCounters
{
    private long _received;
    private long _receivedBytes;
    private long _answered;
    private long _sentBytes;
    private readonly long[] _dropped = new long[Enum.GetValues<DatagramDrop>().Length];

    public long Received => Volatile.Read(ref _received);

    public long ReceivedBytes => Volatile.Read(ref _receivedBytes);

    public long Answered => Volatile.Read(ref _answered);

    public long SentBytes => Volatile.Read(ref _sentBytes);

    public long Dropped(DatagramDrop reason) => Volatile.Read(ref _dropped[(int)reason]);

    public long DroppedTotal => Enum.GetValues<DatagramDrop>().Sum(Dropped);

    public void Receive(int bytes)
    {
        Interlocked.Increment(ref _received);
        Interlocked.Add(ref _receivedBytes, bytes);
    }

    public void Answer(int bytes)
    {
        Interlocked.Increment(ref _answered);
        Interlocked.Add(ref _sentBytes, bytes);
    }

    /// <summary>A reply counted by <see cref="Answer"/> that the socket would not take after all.</summary>
    public void Unsent(int bytes)
    {
        Interlocked.Decrement(ref _answered);
        Interlocked.Add(ref _sentBytes, -bytes);
        Drop(DatagramDrop.SendFailed);
    }

    public void Drop(DatagramDrop reason) => Interlocked.Increment(ref _dropped[(int)reason]);
}
