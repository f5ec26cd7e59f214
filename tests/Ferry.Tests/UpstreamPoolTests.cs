using System.Net;
using Ferry.Daemon.Services.Forward;
using Ferry.Protocol;
using Microsoft.Extensions.Logging;

namespace Ferry.Tests;

public sealed class UpstreamPoolTests
{
    private readonly ManualClock _clock = new();
    private readonly RecordingLogger _log = new();

    private UpstreamPool Pool(Balance balance, int upstreams = 3, int maxConns = 0, bool check = false)
    {
        var to = Enumerable.Range(1, upstreams).Select(i => new HostPort($"10.0.0.{i}", 80)).ToList();
        var options = new ForwardOptions(to, to.Select(t => new[] { IPAddress.Parse(t.Host!) }).ToList(), balance,
            ForwardOptions.DefaultConnectTimeout, 2, ForwardOptions.DefaultFinTimeout, maxConns, ProxyVersion.Off, null,
            new UpstreamTls(false, null, false), new HealthCheck(check, ForwardOptions.DefaultCheckInterval, 2, 3));
        return new UpstreamPool(options, "forward *:9000", _clock, _log);
    }

    [Fact]
    public void RoundRobinTakesEachInTurnAndSkipsOnesDown()
    {
        var pool = Pool(Balance.RoundRobin);
        Assert.Equal(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.1:80"], Enumerable.Range(0, 4).Select(_ => pool.Choose(null)!.Name));
        pool.All[1].ConnectFailed("connection refused", ConnectFailure.Refused);
        Assert.DoesNotContain(Enumerable.Range(0, 6).Select(_ => pool.Choose(null)!.Name), name => name == "10.0.0.2:80");
    }

    [Fact]
    public void FirstFailsOverInOrderAndNeverRetriesWhatAClientTried()
    {
        var pool = Pool(Balance.First);
        Assert.Equal("10.0.0.1:80", pool.Choose(null)!.Name);
        var tried = new List<Upstream> { pool.All[0] };
        Assert.Equal("10.0.0.2:80", pool.Choose(tried)!.Name);
        tried.AddRange(pool.All.Skip(1));
        Assert.Null(pool.Choose(tried));
    }

    [Fact]
    public void LeastConnTakesTheUpstreamWithFewestOpenPairs()
    {
        var pool = Pool(Balance.LeastConn);
        pool.All[0].PairOpened();
        pool.All[1].PairOpened();
        Assert.Equal("10.0.0.3:80", pool.Choose(null)!.Name);
        pool.All[2].PairOpened();
        pool.All[2].PairOpened();
        pool.All[0].PairClosed();
        Assert.Equal("10.0.0.1:80", pool.Choose(null)!.Name);
    }

    [Fact]
    public void FullUpstreamIsSkippedAndNoneIsChosenWhenAllAreFull()
    {
        var pool = Pool(Balance.First, upstreams: 2, maxConns: 1);
        pool.All[0].PairOpened();
        Assert.Equal("10.0.0.2:80", pool.Choose(null)!.Name);
        pool.All[1].PairOpened();
        Assert.Null(pool.Choose(null));
    }

    [Fact]
    public void DownUpstreamIsRetriedAfterADoublingBackoffAndEachChangeIsLoggedOnce()
    {
        var pool = Pool(Balance.First, upstreams: 1);
        var upstream = pool.All[0];
        upstream.ConnectFailed("connection refused", ConnectFailure.Refused);
        Assert.Null(pool.Choose(null));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Same(upstream, pool.Choose(null));
        upstream.ConnectFailed("connection refused", ConnectFailure.Refused);
        _clock.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Null(pool.Choose(null)); // the second back-off is 2 s
        _clock.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Same(upstream, pool.Choose(null));
        for (int i = 0; i < 10; i++)
            upstream.ConnectFailed("timed out after 5 s", ConnectFailure.Timeout);
        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Null(pool.Choose(null)); // at most 30 s
        _clock.Advance(TimeSpan.FromSeconds(1));
        upstream.Connected();
        Assert.False(upstream.IsDown);

        Assert.Equal(1, _log.Count(LogLevel.Warning, "upstream 10.0.0.1:80 is down: connection refused"));
        Assert.Equal(1, _log.Count(LogLevel.Warning, "upstream 10.0.0.1:80 is up again"));
        Assert.Equal(2, _log.Lines.Count);
    }

    [Fact]
    public void DownUpstreamLetsOneClientProbeItPerBackoff()
    {
        var pool = Pool(Balance.RoundRobin, upstreams: 1);
        pool.All[0].ConnectFailed("timed out after 5 s", ConnectFailure.Timeout);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(pool.Choose(null));
        // The probe's connect is under way: the next clients do not pile onto a dead upstream.
        Assert.Null(pool.Choose(null));
        Assert.Null(pool.Choose(null));
    }

    [Fact]
    public void ChoosingCountsThePairSoTheLastSlotGoesOnce()
    {
        var pool = Pool(Balance.LeastConn, upstreams: 2, maxConns: 1);
        var chosen = Enumerable.Range(0, 4).Select(_ => pool.Choose(null)).ToList();
        Assert.Equal(2, chosen.Count(u => u is not null));
        Assert.True(pool.AllFull());
        chosen[0]!.PairClosed();
        Assert.Same(chosen[0], pool.Choose(null));
    }

    [Fact]
    public void ChecksTakeAnUpstreamDownAfterFallAndBackAfterRise()
    {
        var pool = Pool(Balance.First, upstreams: 1, check: true);
        var upstream = pool.All[0];
        upstream.Checked(false, "connection refused", rise: 2, fall: 3);
        upstream.Checked(false, "connection refused", rise: 2, fall: 3);
        Assert.False(upstream.IsDown);
        upstream.Checked(false, "connection refused", rise: 2, fall: 3);
        Assert.True(upstream.IsDown);
        // With checks, a client does not probe a down upstream: only checks bring it back.
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(pool.Choose(null));
        upstream.Checked(true, "", rise: 2, fall: 3);
        Assert.True(upstream.IsDown);
        upstream.Checked(true, "", rise: 2, fall: 3);
        Assert.False(upstream.IsDown);
        Assert.Equal(1, _log.Count(LogLevel.Warning, "is down: 3 checks failed, the last: connection refused"));
        Assert.Equal(1, _log.Count(LogLevel.Warning, "is up again: 2 checks passed"));
    }
}
