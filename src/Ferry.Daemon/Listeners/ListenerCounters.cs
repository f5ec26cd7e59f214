namespace Ferry.Daemon.Listeners;

/// <summary>Per-listener counts, updated where connections open and close.</summary>
internal sealed class ListenerCounters
{
    private long _active;
    private long _accepted;

    public long Active => Interlocked.Read(ref _active);

    public long Accepted => Interlocked.Read(ref _accepted);

    public void Opened()
    {
        Interlocked.Increment(ref _accepted);
        Interlocked.Increment(ref _active);
    }

    public void Closed() => Interlocked.Decrement(ref _active);
}
