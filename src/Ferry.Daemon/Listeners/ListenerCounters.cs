namespace Ferry.Daemon.Listeners;

/// <summary>Per-listener counts, updated where connections open, close and are refused.</summary>
internal sealed class ListenerCounters
{
    private readonly long[] _refused = new long[RefusalReasonText.All.Length];
    private long _active;
    private long _accepted;

    public long Active => Interlocked.Read(ref _active);

    public long Accepted => Interlocked.Read(ref _accepted);

    public long RefusedTotal => RefusalReasonText.All.Sum(RefusedFor);

    public long RefusedFor(RefusalReason reason) => Interlocked.Read(ref _refused[(int)reason]);

    public void Opened()
    {
        Interlocked.Increment(ref _accepted);
        Interlocked.Increment(ref _active);
    }

    public void Closed() => Interlocked.Decrement(ref _active);

    public void Refused(RefusalReason reason) => Interlocked.Increment(ref _refused[(int)reason]);
}
