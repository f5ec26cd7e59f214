namespace Ferry.Daemon.Services.Sink;

/// <summary>
/// One complete line on its way to the file (content without its terminator), or a barrier:
/// no line, just a promise completed once everything queued before it has been written.
/// </summary>
internal sealed record SinkRecord(byte[] Line, string Peer, DateTimeOffset Received)
{
    public TaskCompletionSource? Written { get; private init; }

    public bool IsBarrier => Written is not null;

    public static SinkRecord Barrier() =>
        new([], "", default) { Written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
}
