using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Ferry.Daemon.Services;
using Ferry.Daemon.Services.Fanout;
using Ferry.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Tests;

/// <summary>The line services' one line loop: the same events whatever the chunking, and its end-of-stream rules.</summary>
public sealed class LineReaderTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static async Task<(List<string> Events, string Replies)> ReadAllAsync(byte[] input, int chunk, int maxLine = 8,
        OverlongLinePolicy overlong = OverlongLinePolicy.Discard)
    {
        var pipe = new Pipe();
        var replies = new OutboundQueue(OutboundLimits.Default, TimeProvider.System);
        var lines = new LineReader(pipe.Reader, new LineOptions(maxLine, overlong), replies, NullLogger.Instance, "test", "peer");
        var feeding = Task.Run(async () =>
        {
            foreach (var part in input.Chunk(chunk))
                await pipe.Writer.WriteAsync(part, Token);
            await pipe.Writer.CompleteAsync();
        }, Token);
        var events = new List<string>();
        while (true)
        {
            var next = await lines.NextAsync(Token).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Token);
            events.Add(next == LineEvent.Line ? "line " + Encoding.UTF8.GetString(lines.Line.ToArray()) : next.ToString());
            if (next is LineEvent.End or LineEvent.TooLong)
                break;
        }
        await feeding;
        replies.Complete();
        var text = new StringBuilder();
        while (replies.Reader.TryRead(out var reply))
            text.Append(Encoding.UTF8.GetString(reply.Span));
        return (events, text.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public async Task TheSameEventsWhateverTheChunking(int chunk)
    {
        byte[] input = Encoding.UTF8.GetBytes("one\r\ntwo\n\nfar too long a line\nthree\nlast");
        var (events, replies) = await ReadAllAsync(input, chunk);
        Assert.Equal(["line one", "line two", "line ", "line three", "line last", "End"], events);
        Assert.Equal("! line too long (max 8 bytes); discarded\n", replies);
    }

    [Fact]
    public async Task AnUnterminatedLastLineLosesItsCarriageReturnToo()
    {
        var (events, _) = await ReadAllAsync(Encoding.UTF8.GetBytes("a\nb\r"), chunk: 1);
        Assert.Equal(["line a", "line b", "End"], events);
    }

    [Fact]
    public async Task TheRestOfAnOverlongLineAtTheEndIsNotALine()
    {
        var (events, _) = await ReadAllAsync(Encoding.UTF8.GetBytes("ok\nmuch too long and never ended"), chunk: 4);
        Assert.Equal(["line ok", "End"], events);
    }

    [Fact]
    public async Task WithOverlongCloseTheClientIsToldAndTheServiceClosed()
    {
        var (events, replies) = await ReadAllAsync(Encoding.UTF8.GetBytes("ok\nmuch too long\nnever read\n"), 5,
            overlong: OverlongLinePolicy.Close);
        Assert.Equal(["line ok", "TooLong"], events);
        Assert.Equal("! line too long (max 8 bytes); closing\n", replies);
    }

    [Fact]
    public async Task ACancelledReadIsReportedAndLosesNothing()
    {
        var pipe = new Pipe();
        var replies = new OutboundQueue(OutboundLimits.Default, TimeProvider.System);
        var lines = new LineReader(pipe.Reader, new LineOptions(64, OverlongLinePolicy.Discard), replies, NullLogger.Instance, "test", "peer");
        await pipe.Writer.WriteAsync("hal"u8.ToArray(), Token);
        var next = lines.NextAsync(Token);
        pipe.Reader.CancelPendingRead();
        Assert.Equal(LineEvent.Interrupted, await next.AsTask().WaitAsync(TimeSpan.FromSeconds(10), Token));
        Assert.Equal(3, lines.Unfinished);
        Assert.False(lines.TryReadMore());

        await pipe.Writer.WriteAsync("f\n"u8.ToArray(), Token);
        Assert.True(lines.TryReadMore());
        Assert.Equal(LineEvent.Line, await lines.NextAsync(Token).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Token));
        Assert.Equal("half", Encoding.UTF8.GetString(lines.Line.ToArray()));
    }
}
