using System.Buffers;
using System.IO.Pipelines;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Services;

namespace Ferry.Tests;

/// <summary>
/// A connection made of two in-memory pipes: the client writes into <see cref="ToServer"/>
/// (the service's Input) and reads from <see cref="ToClient"/> (the service's Output).
/// </summary>
internal sealed class InMemoryConnection : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stopping = new();

    public InMemoryConnection(PipeOptions? toServer = null, PipeOptions? toClient = null, ReceivedLineLog? receivedLines = null)
    {
        ToServer = new Pipe(toServer ?? PipeOptions.Default);
        ToClient = new Pipe(toClient ?? PipeOptions.Default);
        Stats = new ServiceTraffic(receivedLines);
        Connection = new ServiceConnection(new DuplexPipe(ToServer.Reader, Stats.CountOutput(ToClient.Writer)), _stopping.Token,
            observer: Stats);
    }

    public Pipe ToServer { get; }

    public Pipe ToClient { get; }

    /// <summary>What the client writes: the service's input.</summary>
    public PipeWriter ClientWriter => ToServer.Writer;

    /// <summary>What the client reads: the service's output.</summary>
    public PipeReader ClientReader => ToClient.Reader;

    public ServiceTraffic Stats { get; }

    public ServiceConnection Connection { get; }

    public void Stop() => _stopping.Cancel();

    public Task<CloseReason> Run(IConnectionService service) => Connection.ServeWithAsync(service).AsTask();

    /// <summary>Reads exactly <paramref name="count"/> bytes from the service's output.</summary>
    public async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
    {
        var received = new byte[count];
        int at = 0;
        while (at < count)
        {
            var read = await ClientReader.ReadAsync(cancellationToken).AsTask().WaitAsync(Timeout, cancellationToken);
            var buffer = read.Buffer;
            int take = (int)Math.Min(buffer.Length, count - at);
            buffer.Slice(0, take).CopyTo(received.AsSpan(at));
            at += take;
            ClientReader.AdvanceTo(buffer.GetPosition(take));
            if (at < count && read.IsCompleted)
                throw new EndOfStreamException($"output ended after {at} of {count} bytes");
        }
        return received;
    }

    /// <summary>
    /// Returns how many bytes the service has written that the client has not read, without
    /// consuming them. Call it at most once between reads: the pipe then waits for new data.
    /// </summary>
    public async Task<long> PeekUnreadAsync(CancellationToken cancellationToken)
    {
        var read = await ClientReader.ReadAsync(cancellationToken).AsTask().WaitAsync(Timeout, cancellationToken);
        long length = read.Buffer.Length;
        ClientReader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        return length;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds, failing after a generous timeout.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out waiting until {what}");
            await Task.Delay(5, cancellationToken);
        }
    }

    /// <summary>
    /// Waits until <paramref name="snapshot"/> returns the same values twice, 200 ms apart,
    /// and returns them: the point where a stalled flow has stopped moving.
    /// </summary>
    public static async Task<long[]> WaitUntilStableAsync(Func<long[]> snapshot, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Timeout;
        var previous = snapshot();
        while (true)
        {
            await Task.Delay(200, cancellationToken);
            var current = snapshot();
            if (current.SequenceEqual(previous))
                return current;
            if (DateTime.UtcNow > deadline)
                Assert.Fail("the flow never settled");
            previous = current;
        }
    }

    public void Dispose() => _stopping.Dispose();

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
