using System.Buffers;
using System.IO.Pipelines;

namespace Ferry.Daemon.Connections;

/// <summary>
/// A service's input as the service reads it, with every byte it is handed shown once to an
/// <see cref="IInputObserver"/>, below the service, so no service has to remember to. Installed
/// only when someone observes (Debug logging): the ordinary path reads the transport directly.
/// </summary>
internal sealed class ObservedInput(PipeReader input, IInputObserver observer) : PipeReader
{
    private ReadOnlySequence<byte> _lastRead;

    /// <summary>Bytes at the front of the next buffer that the observer has already seen.</summary>
    private long _seen;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        ReadResult result = await input.ReadAsync(cancellationToken);
        Saw(result.Buffer);
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!input.TryRead(out result))
            return false;
        Saw(result.Buffer);
        return true;
    }

    private void Saw(ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length > _seen)
            observer.Observe(buffer.Slice(_seen));
        _seen = buffer.Length;
        _lastRead = buffer;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        // What is consumed leaves the front of the buffer; the rest comes back, already seen.
        _seen -= _lastRead.Slice(_lastRead.Start, consumed).Length;
        _lastRead = default;
        input.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => input.CancelPendingRead();

    public override void Complete(Exception? exception = null) => input.Complete(exception);
}
