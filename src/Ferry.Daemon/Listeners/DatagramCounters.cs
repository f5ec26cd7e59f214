namespace Ferry.Daemon.Listeners;

/// <summary>
/// What a udp: listener's datagrams did, for the status and the metrics. Written by the one
/// socket thread that serves the listener, read by anyone (each count on its own).
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
        Volatile.Write(ref _received, _received + 1);
        Volatile.Write(ref _receivedBytes, _receivedBytes + bytes);
    }

    public void Answer(int bytes)
    {
        Volatile.Write(ref _answered, _answered + 1);
        Volatile.Write(ref _sentBytes, _sentBytes + bytes);
    }

    /// <summary>A reply counted by <see cref="Answer"/> that the socket would not take after all.</summary>
    public void Unsent(int bytes)
    {
        Volatile.Write(ref _answered, _answered - 1);
        Volatile.Write(ref _sentBytes, _sentBytes - bytes);
        Drop(DatagramDrop.SendBufferFull);
    }

    public void Drop(DatagramDrop reason) => Volatile.Write(ref _dropped[(int)reason], _dropped[(int)reason] + 1);
}
