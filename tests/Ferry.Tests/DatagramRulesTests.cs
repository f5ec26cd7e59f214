using System.Net;
using Ferry.Daemon.Listeners;
using Ferry.Platform.Net;
using Microsoft.Extensions.Logging;

namespace Ferry.Tests;

/// <summary>
/// A udp: listener's rules, without sockets: the endpoint's parse, the screen over each sender
/// (loop ports, allow/deny, per-source token bucket) and the one summary line per episode of drops.
/// </summary>
public sealed class DatagramRulesTests
{
    [Theory]
    [InlineData("udp:7", "Udp", "udp:*:7")]
    [InlineData("udp:127.0.0.1:0=discard", "Udp", "udp:127.0.0.1:0")]
    [InlineData("UDP:[::1]:13=daytime", "Udp", "udp:[::1]:13")]
    [InlineData("tcp:127.0.0.1:7", "Tcp", "127.0.0.1:7")]
    [InlineData("unix:/run/ferry/chat.sock=chat", "Unix", "unix:/run/ferry/chat.sock")]
    [InlineData("unix:@ferry=broker", "Unix", "unix:@ferry")]
    [InlineData("unix:relative.sock", "Unix", "unix:relative.sock")]
    public void EndpointsNameTheirTransport(string text, string transport, string address)
    {
        Assert.True(ListenerSpec.TryParse(text, out var spec, out string error), error);
        Assert.Equal(transport, spec!.Transport.ToString());
        Assert.Equal(address, spec.FormatAddress());
    }

    [Theory]
    [InlineData("udp:7=chat", "service 'chat' does not serve udp:")]
    [InlineData("udp:7=sink", "service 'sink' does not serve udp:")]
    [InlineData("unix:", "unix: needs a socket file's path")]
    [InlineData("unix:@", "unix: needs a socket file's path")]
    public void WhatCannotBeIsRefused(string text, string message)
    {
        Assert.False(ListenerSpec.TryParse(text, out _, out string error));
        Assert.Contains(message, error);
    }

    [Fact]
    public void ASocketPathLongerThanTheKernelTakesIsRefused()
    {
        Assert.False(ListenerSpec.TryParse("unix:/" + new string('a', 107), out _, out string error));
        Assert.Contains("longer than the kernel allows (107 bytes)", error);
        Assert.True(ListenerSpec.TryParse("unix:/" + new string('a', 106), out _, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(13)]
    [InlineData(17)]
    [InlineData(19)]
    [InlineData(37)]
    public void DatagramsFromServicePortsAreLoops(int port)
    {
        var screen = Screen("udp:127.0.0.1:7=echo", new ManualClock());

        Assert.Equal(DatagramDrop.LoopPort, screen.Judge(Sender("127.0.0.1", port)));
        Assert.Null(screen.Judge(Sender("127.0.0.1", 40_000)));
        Assert.Equal(IPAddress.Loopback, screen.LastDropped);
    }

    [Fact]
    public void EveryUdpServiceIsLoopbackOnlyUntilAllowSaysOtherwise()
    {
        var closed = Screen("udp:7=echo", new ManualClock());
        var open = Screen("udp:7=echo,allow=192.0.2.0/24", new ManualClock());

        Assert.Null(closed.Judge(Sender("127.0.0.1", 5000)));
        Assert.Null(closed.Judge(Sender("::ffff:127.0.0.1", 5000)));
        Assert.Equal(DatagramDrop.NotAllowed, closed.Judge(Sender("192.0.2.7", 5000)));
        Assert.Null(open.Judge(Sender("192.0.2.7", 5000)));
        Assert.Equal(DatagramDrop.NotAllowed, open.Judge(Sender("198.51.100.1", 5000)));
    }

    [Fact]
    public void EachSourceHasItsOwnBucketWhichRefillsAtTheRate()
    {
        var clock = new ManualClock();
        var screen = Screen("udp:7=echo,allow=192.0.2.0/24,rate=10,burst=5", clock);

        Assert.Equal(5, Passed(screen, "192.0.2.1", 8));
        Assert.Equal(5, Passed(screen, "192.0.2.2", 8));   // another source: its own bucket
        clock.Advance(TimeSpan.FromMilliseconds(300));      // 3 tokens back at 10 a second
        Assert.Equal(3, Passed(screen, "192.0.2.1", 8));
        clock.Advance(TimeSpan.FromSeconds(60));            // full again, never more than the burst
        Assert.Equal(5, Passed(screen, "192.0.2.1", 8));
    }

    [Fact]
    public void LoopbackIsExemptFromTheRateUnlessExemptSaysOtherwise()
    {
        var exempt = Screen("udp:7=echo,rate=1,burst=1", new ManualClock());
        var held = Screen("udp:7=echo,rate=1,burst=1,exempt=none", new ManualClock());

        Assert.Equal(100, Passed(exempt, "127.0.0.1", 100));
        Assert.Equal(1, Passed(held, "127.0.0.1", 100));
    }

    [Fact]
    public void OneSummaryLinePerEpisodeAndOneEveryIntervalWhileItLasts()
    {
        var clock = new ManualClock();
        var counters = new DatagramCounters();
        var logger = new RecordingLogger();
        var log = new DatagramDropLog("echo udp:127.0.0.1:7", counters, () => IPAddress.Loopback, logger, clock);

        for (int i = 0; i < 1000; i++)
            counters.Drop(DatagramDrop.RateExceeded);
        log.Tick();
        clock.Advance(TimeSpan.FromSeconds(1));
        log.Tick();
        Assert.Empty(logger.Lines);                        // still in the episode's first quiet second
        clock.Advance(TimeSpan.FromSeconds(1));
        log.Tick();
        Assert.Equal(1, logger.Count(LogLevel.Warning, "dropped 1,000 datagram(s)"));
        for (int second = 0; second < 5; second++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            log.Tick();
        }
        Assert.Single(logger.Lines);                       // nothing new, nothing said

        // A flood that does not stop: a line every 10 s, not one per tick.
        for (int second = 0; second < 25; second++)
        {
            counters.Drop(DatagramDrop.LoopPort);
            clock.Advance(TimeSpan.FromSeconds(1));
            log.Tick();
        }
        Assert.Equal(3, logger.Lines.Count);
        Assert.Contains("from a service port (loop guard); last from 127.0.0.1", logger.Lines[1].Text);
    }

    private static DatagramScreen Screen(string listen, TimeProvider clock)
    {
        Assert.True(ListenerSpec.TryParse(listen, out var spec, out string error), error);
        return new DatagramScreen(ListenerSettings.From(spec!).Policy, clock);
    }

    private static int Passed(DatagramScreen screen, string address, int count) =>
        Enumerable.Range(0, count).Count(_ => screen.Judge(Sender(address, 5000)) is null);

    private static byte[] Sender(string address, int port) => SocketAddressBytes.Of(new IPEndPoint(IPAddress.Parse(address), port));
}
