using System.Net;
using Ferry.Daemon.Listeners;
using Microsoft.Extensions.Logging;

namespace Ferry.Tests;

/// <summary>Running out of descriptors is one episode, one line at its start and one at its end, however the load churns.</summary>
public sealed class DescriptorShortageTests
{
    [Fact]
    public void ChurnAtTheLimitIsOneEpisode()
    {
        var clock = new ManualClock();
        var log = new RecordingLogger();
        var shortage = new DescriptorShortage("echo 127.0.0.1:7", log, clock);

        // Refusals and admissions interleave for 8 s, as clients come and go at the limit.
        for (int step = 0; step < 800; step++)
        {
            if (step % 2 == 0)
                shortage.Refused(1020, 1024);
            else
                shortage.Admitted();
            clock.Advance(TimeSpan.FromMilliseconds(10));
        }
        Assert.True(shortage.IsShort);
        clock.Advance(DescriptorShortage.QuietTime);
        shortage.Admitted();

        Assert.False(shortage.IsShort);
        Assert.Equal(1, log.Count(LogLevel.Error, "out of file descriptors on echo 127.0.0.1:7"));
        Assert.Equal(1, log.Count(LogLevel.Information, "accepting again on echo 127.0.0.1:7"));
        Assert.Contains("400 connection attempt(s)", log.Lines[^1].Text);
    }

    [Fact]
    public void AFailingAcceptStartsAnEpisodeAndBacksOff()
    {
        var clock = new ManualClock();
        var log = new RecordingLogger();
        var shortage = new DescriptorShortage("echo", log, clock);
        Assert.Equal(TimeSpan.FromMilliseconds(100), shortage.AcceptFailed("too many open files"));
        Assert.Equal(TimeSpan.FromMilliseconds(200), shortage.AcceptFailed("too many open files"));
        Assert.Equal(1, log.Count(LogLevel.Error, "too many open files"));
        shortage.Admitted(); // too soon: still the same episode
        Assert.True(shortage.IsShort);
    }

    [Fact]
    public void WhileShortAdmissionRefusesDownToTheLowWaterMark()
    {
        Assert.True(ListenerSpec.TryParse("7=echo", out var spec, out _));
        var policy = ListenerSettings.From(spec!).Policy;
        var admission = new Admission(policy, "echo", new SourceLimits(policy, new ManualClock()), descriptorLimit: 1024);
        var peer = IPAddress.Loopback;
        // Reserve 64: refused from 960 normally, from 896 while short.
        Assert.Null(admission.Decide(peer, 900, 0).Refusal);
        Assert.Equal(RefusalReason.OutOfDescriptors, admission.Decide(peer, 900, 0, descriptorsShort: true).Refusal);
        Assert.Null(admission.Decide(peer, 895, 0, descriptorsShort: true).Refusal);
    }
}
