using Ferry.Daemon.Services.Fanout;

namespace Ferry.Tests;

public sealed class OutboundQueueTests
{
    private static readonly OutboundLimits Limits = new(HardLimit: 1000, SoftLimit: 400, SoftTime: TimeSpan.FromSeconds(5));

    private static byte[] Bytes(int count) => new byte[count];

    [Fact]
    public void UnderTheLimits_EverythingIsQueuedInOrder()
    {
        var queue = new OutboundQueue(Limits, new ManualClock());
        for (int i = 0; i < 4; i++)
            Assert.True(queue.TryEnqueue(new[] { (byte)i }));
        Assert.Equal(4, queue.QueuedBytes);
        for (int i = 0; i < 4; i++)
        {
            Assert.True(queue.Reader.TryRead(out var message));
            Assert.Equal((byte)i, message.Span[0]);
        }
        queue.Delivered(4);
        Assert.Equal(0, queue.QueuedBytes);
        Assert.False(queue.IsCut);
    }

    [Fact]
    public void HardLimit_CutsAtOnce_AndRefusesEverythingAfter()
    {
        var queue = new OutboundQueue(Limits, new ManualClock());
        Assert.True(queue.TryEnqueue(Bytes(1000)));
        Assert.False(queue.IsCut);
        Assert.False(queue.TryEnqueue(Bytes(1)));
        Assert.True(queue.IsCut);
        Assert.True(queue.CutToken.IsCancellationRequested);
        Assert.Contains("hard limit of 1000", queue.CutReason);
        Assert.False(queue.TryEnqueue(Bytes(1)));
    }

    [Fact]
    public void OneMessageLargerThanTheHardLimit_Cuts()
    {
        var queue = new OutboundQueue(Limits, new ManualClock());
        Assert.False(queue.TryEnqueue(Bytes(1001)));
        Assert.True(queue.IsCut);
    }

    [Fact]
    public void SoftLimit_HeldForSoftTime_Cuts()
    {
        var clock = new ManualClock();
        var queue = new OutboundQueue(Limits, clock);
        Assert.True(queue.TryEnqueue(Bytes(401)));
        clock.Advance(TimeSpan.FromSeconds(4.9));
        queue.Check();
        Assert.False(queue.IsCut);
        clock.Advance(TimeSpan.FromSeconds(0.1));
        queue.Check();
        Assert.True(queue.IsCut);
        Assert.Contains("soft limit of 400 bytes for 5 s", queue.CutReason);
    }

    [Fact]
    public void SoftLimit_IsJudgedOnEnqueueToo()
    {
        var clock = new ManualClock();
        var queue = new OutboundQueue(Limits, clock);
        Assert.True(queue.TryEnqueue(Bytes(500)));
        clock.Advance(TimeSpan.FromSeconds(6));
        queue.TryEnqueue(Bytes(1));
        Assert.True(queue.IsCut);
    }

    [Fact]
    public void DrainingBelowTheSoftLimit_RestartsTheSoftClock()
    {
        var clock = new ManualClock();
        var queue = new OutboundQueue(Limits, clock);
        Assert.True(queue.TryEnqueue(Bytes(500)));
        clock.Advance(TimeSpan.FromSeconds(4));
        queue.Delivered(200); // 300 queued: below the soft limit again
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(queue.TryEnqueue(Bytes(200))); // over again: the clock starts now
        clock.Advance(TimeSpan.FromSeconds(4));
        queue.Check();
        Assert.False(queue.IsCut);
        clock.Advance(TimeSpan.FromSeconds(1));
        queue.Check();
        Assert.True(queue.IsCut);
    }

    [Fact]
    public void SoftLimitZero_TurnsTheSoftRuleOff()
    {
        var clock = new ManualClock();
        var queue = new OutboundQueue(Limits with { SoftLimit = 0 }, clock);
        Assert.True(queue.TryEnqueue(Bytes(999)));
        clock.Advance(TimeSpan.FromHours(1));
        queue.Check();
        Assert.False(queue.IsCut);
    }

    [Fact]
    public void Complete_RefusesNewMessages_ButKeepsQueuedOnes()
    {
        var queue = new OutboundQueue(Limits, new ManualClock());
        Assert.True(queue.TryEnqueue(Bytes(3)));
        queue.Complete();
        Assert.False(queue.TryEnqueue(Bytes(3)));
        Assert.Equal(3, queue.QueuedBytes);
        Assert.True(queue.Reader.TryRead(out _));
        Assert.True(queue.Reader.Completion.IsCompleted);
        Assert.False(queue.IsCut);
    }

    [Fact]
    public void ManyConcurrentSenders_NeverOverrunTheHardLimitUnnoticed()
    {
        var queue = new OutboundQueue(new OutboundLimits(100_000, 0, TimeSpan.FromSeconds(1)), new ManualClock());
        long accepted = 0;
        Parallel.For(0, 8, _ =>
        {
            for (int i = 0; i < 10_000; i++)
                if (queue.TryEnqueue(Bytes(10)))
                    Interlocked.Add(ref accepted, 10);
        });
        Assert.True(queue.IsCut);
        Assert.True(accepted <= 100_000, $"accepted {accepted} bytes past a 100000-byte hard limit");
    }
    [Fact]
    public void AMemberIdleForLongIsNotStalled_ItsClockStartsWithItsFirstQueuedByte()
    {
        var clock = new ManualClock();
        var queue = new OutboundQueue(Limits, clock);
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.True(queue.TryEnqueue(Bytes(10)));
        Assert.Equal(TimeSpan.Zero, clock.GetElapsedTime(queue.LastProgress));
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(queue.TryEnqueue(Bytes(10)));
        // Still waiting on the first message: the clock is not reset by more of them.
        Assert.Equal(TimeSpan.FromSeconds(2), clock.GetElapsedTime(queue.LastProgress));
        queue.Delivered(5);
        Assert.Equal(TimeSpan.Zero, clock.GetElapsedTime(queue.LastProgress));
    }

    [Fact]
    public void APacingStepKeepsAMemberLetThroughUnderHalfItsHardLimit()
    {
        long step = FanoutPacing.LargestStep(Limits);
        Assert.Equal(250, step);
        var queue = new OutboundQueue(Limits, new ManualClock());
        Assert.True(queue.TryEnqueue(Bytes((int)step))); // at the high-water mark, the pacer lets the sender on
        Assert.True(queue.TryEnqueue(Bytes((int)step)));
        Assert.True(queue.QueuedBytes <= Limits.HardLimit / 2);
        Assert.False(queue.IsCut);
    }
}
