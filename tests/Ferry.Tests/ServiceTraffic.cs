using System.Buffers;
using System.IO.Pipelines;
using Ferry.Daemon.Connections;

namespace Ferry.Tests;

/// <summary>
/// What a service under test read and wrote, counted where the test's in-memory pipes meet the
/// service (the transport counts in ferryd): bytes in as the service is handed them (seen through
/// ferryd's own <see cref="ObservedInput"/>), bytes out once a flush of them has gone through.
/// A <see cref="ReceivedLineLog"/>, when given, sees the input too, as Debug logging would.
/// </summary>
internal sealed class ServiceTraffic(IInputObserver? also) : IInputObserver
{
    private long _bytesIn;
    private long _bytesOut;

    public long BytesIn => Interlocked.Read(ref _bytesIn);

    public long BytesOut => Interlocked.Read(ref _bytesOut);

    public void Observe(ReadOnlySequence<byte> received)
    {
        Interlocked.Add(ref _bytesIn, received.Length);
        also?.Observe(received);
    }

    public void Flush() => also?.Flush();

    /// <summary>The service's output, counting what each flush that went through carried.</summary>
    public PipeWriter CountOutput(PipeWriter output) => new CountedOutput(output, this);

    private sealed class CountedOutput(PipeWriter output, ServiceTraffic traffic) : PipeWriter
    {
        private long _unflushed;

        public override void Advance(int bytes)
        {
            output.Advance(bytes);
            _unflushed += bytes;
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => output.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => output.GetSpan(sizeHint);

        public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            long flushing = _unflushed;
            _unflushed = 0;
            var result = await output.FlushAsync(cancellationToken);
            if (!result.IsCompleted)
                Interlocked.Add(ref traffic._bytesOut, flushing);
            return result;
        }

        public override void CancelPendingFlush() => output.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => output.Complete(exception);
    }
}
