using System.Threading.Channels;

namespace Ferry.Daemon.Services.Fanout;

/// <summary>
/// One client's outbound messages, bounded in bytes by <see cref="OutboundLimits"/>. Enqueueing
/// never waits: fan-out calls it for every member of a room, so a slow member must cost the
/// sender nothing. A client over its limits is <em>cut</em>: the queue stops accepting, and
/// <see cref="CutToken"/> tells the connection's reader and writer to stop.
/// One writer loop (<see cref="OutboundWriter"/>) drains it and reports what it delivered.
/// </summary>
internal sealed class OutboundQueue
{
    private const long NotOverSoftLimit = long.MinValue;

    private readonly OutboundLimits _limits;
    private readonly TimeProvider _time;
    private readonly Channel<ReadOnlyMemory<byte>> _messages =
        Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _cut = new();
    private long _queuedBytes;
    private long _overSoftSince = NotOverSoftLimit;
    private long _lastProgress;
    private TaskCompletionSource? _progressWaiters;
    private string? _cutReason;

    public OutboundQueue(OutboundLimits limits, TimeProvider time)
    {
        _limits = limits;
        _time = time;
        CutToken = _cut.Token;
        _lastProgress = time.GetTimestamp();
    }

    /// <summary>
    /// When the writer last handed bytes to the transport, or when the queue last went from empty
    /// to not: a member that had nothing to read for a while has not stalled, it has been idle.
    /// </summary>
    public long LastProgress => Interlocked.Read(ref _lastProgress);

    /// <summary>Completes at the writer's next delivery, or when the client is cut off.</summary>
    public Task NextProgressAsync()
    {
        var waiters = Volatile.Read(ref _progressWaiters);
        if (waiters is not null)
            return waiters.Task;
        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        waiters = Interlocked.CompareExchange(ref _progressWaiters, created, null) ?? created;
        if (IsCut)
            waiters.TrySetResult();
        return waiters.Task;
    }

    private void Progressed() => Interlocked.Exchange(ref _progressWaiters, null)?.TrySetResult();

    /// <summary>Bytes accepted and not yet delivered to the transport.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    public bool IsCut => _cut.IsCancellationRequested;

    /// <summary>Cancelled when the client is cut off; <see cref="CutReason"/> says why.</summary>
    public CancellationToken CutToken { get; }

    public string? CutReason => Volatile.Read(ref _cutReason);

    public ChannelReader<ReadOnlyMemory<byte>> Reader => _messages.Reader;

    /// <summary>
    /// Queues <paramref name="message"/> (kept by reference: callers hand over buffers they
    /// no longer change, so one copy serves a whole room). False when the client is cut off,
    /// now or before, or the queue is complete.
    /// </summary>
    public bool TryEnqueue(ReadOnlyMemory<byte> message)
    {
        if (IsCut)
            return false;
        long queued = Interlocked.Add(ref _queuedBytes, message.Length);
        if (queued > _limits.HardLimit)
        {
            Cut($"output queue of {queued} bytes over the hard limit of {_limits.HardLimit}");
            return false;
        }
        if (!_messages.Writer.TryWrite(message))
        {
            Interlocked.Add(ref _queuedBytes, -message.Length);
            return false;
        }
        if (queued == message.Length)
            Interlocked.Exchange(ref _lastProgress, _time.GetTimestamp());
        ApplySoftLimit(queued);
        return true;
    }

    /// <summary>The writer handed <paramref name="bytes"/> to the transport.</summary>
    public void Delivered(long bytes)
    {
        if (bytes > 0)
            Interlocked.Exchange(ref _lastProgress, _time.GetTimestamp());
        ApplySoftLimit(Interlocked.Add(ref _queuedBytes, -bytes));
        Progressed();
    }

    /// <summary>
    /// Re-applies the soft limit now; called periodically, because a client that stops reading
    /// while nobody sends it more would otherwise never be judged again.
    /// </summary>
    public void Check() => ApplySoftLimit(QueuedBytes);

    /// <summary>No more messages; the writer delivers what is queued and ends.</summary>
    public void Complete() => _messages.Writer.TryComplete();

    public void Cut(string reason)
    {
        if (Interlocked.CompareExchange(ref _cutReason, reason, null) is not null)
            return;
        _messages.Writer.TryComplete();
        _cut.Cancel();
        Progressed();
    }

    private void ApplySoftLimit(long queued)
    {
        if (_limits.SoftLimit <= 0 || IsCut)
            return;
        if (queued <= _limits.SoftLimit)
        {
            Interlocked.Exchange(ref _overSoftSince, NotOverSoftLimit);
            return;
        }
        long now = _time.GetTimestamp();
        long since = Interlocked.CompareExchange(ref _overSoftSince, now, NotOverSoftLimit);
        if (since != NotOverSoftLimit && _time.GetElapsedTime(since, now) >= _limits.SoftTime)
            Cut($"output queue over the soft limit of {_limits.SoftLimit} bytes for {_limits.SoftTime.TotalSeconds:0.#} s ({queued} bytes queued)");
    }
}
