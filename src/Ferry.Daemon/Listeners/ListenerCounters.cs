namespace Ferry.Daemon.Listeners;

/// <summary>
/// Per-listener counts, updated where connections open, close and are refused; and the bytes
/// of the connections that have closed, which the open ones' own counts continue
/// (<see cref="RunningListener.OpenBytes"/>). A listener a reload puts in another's place takes
/// over its counters (<see cref="BoundListener.ContinueCounting"/>).
/// </summary>
internal sealed class ListenerCounters
{
    private readonly long[] _refused = new long[RefusalReasonText.All.Length];
    private long _active;
    private long _accepted;

    public long Active => Interlocked.Read(ref _active);

    public long Accepted => Interlocked.Read(ref _accepted);

    public long RefusedTotal => RefusalReasonText.All.Sum(RefusedFor);

    public long RefusedFor(RefusalReason reason) => Interlocked.Read(ref _refused[(int)reason]);

    /// <summary>
    /// Held while a closed connection's bytes move from the open set to these totals, and while
    /// both are added up: a scrape never sees them twice or not at all, so the sum never goes back.
    /// </summary>
    public Lock BytesGate { get; } = new();

    /// <summary>Bytes of closed connections; under <see cref="BytesGate"/>.</summary>
    public long ClosedBytesReceived { get; private set; }

    /// <summary>Bytes of closed connections; under <see cref="BytesGate"/>.</summary>
    public long ClosedBytesSent { get; private set; }

    public void Opened()
    {
        Interlocked.Increment(ref _accepted);
        Interlocked.Increment(ref _active);
    }

    public void Closed() => Interlocked.Decrement(ref _active);

    public void Refused(RefusalReason reason) => Interlocked.Increment(ref _refused[(int)reason]);

    /// <summary>Under <see cref="BytesGate"/>.</summary>
    public void AddClosedBytes(long received, long sent)
    {
        ClosedBytesReceived += received;
        ClosedBytesSent += sent;
    }
}
