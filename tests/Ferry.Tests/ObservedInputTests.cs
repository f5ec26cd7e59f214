using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Ferry.Daemon.Connections;

namespace Ferry.Tests;

/// <summary>The observer below the services sees each byte once, in order, however the service consumes.</summary>
public sealed class ObservedInputTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private sealed class Recorder : IInputObserver
    {
        public StringBuilder Seen { get; } = new();

        public int Flushes { get; private set; }

        public void Observe(ReadOnlySequence<byte> received) => Seen.Append(Encoding.ASCII.GetString(received.ToArray()));

        public void Flush() => Flushes++;
    }

    [Fact]
    public async Task BytesExaminedButNotConsumedAreNotSeenTwice()
    {
        var pipe = new Pipe();
        var recorder = new Recorder();
        var input = new ObservedInput(pipe.Reader, recorder);

        await pipe.Writer.WriteAsync("abc"u8.ToArray(), Token);
        var first = await input.ReadAsync(Token);
        input.AdvanceTo(first.Buffer.GetPosition(1), first.Buffer.End); // consume "a", keep "bc"
        await pipe.Writer.WriteAsync("de"u8.ToArray(), Token);
        var second = await input.ReadAsync(Token);
        Assert.Equal("bcde", Encoding.ASCII.GetString(second.Buffer.ToArray()));
        input.AdvanceTo(second.Buffer.Start, second.Buffer.End); // consume nothing
        await pipe.Writer.WriteAsync("f"u8.ToArray(), Token);
        Assert.True(input.TryRead(out var third));
        input.AdvanceTo(third.Buffer.End);

        Assert.Equal("abcdef", recorder.Seen.ToString());
    }

    [Fact]
    public async Task TheObserverIsFlushedWhenTheServiceEnds_EvenByThrowing()
    {
        var recorder = new Recorder();
        using var connection = new InMemoryConnection();
        var observed = new Ferry.Daemon.Services.ServiceConnection(
            new DuplexPipe(connection.ToServer.Reader, connection.ToClient.Writer), CancellationToken.None, observer: recorder);
        await Assert.ThrowsAsync<InvalidOperationException>(() => observed.ServeWithAsync(new Throwing()).AsTask());
        Assert.Equal(1, recorder.Flushes);
    }

    private sealed class Throwing : Ferry.Daemon.Services.IConnectionService
    {
        public ValueTask<CloseReason> RunAsync(Ferry.Daemon.Services.ServiceConnection connection) =>
            throw new InvalidOperationException("bug");
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
