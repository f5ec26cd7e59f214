using System.Net;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Services;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Tests;

public sealed class ListenerPolicyTests
{
    private static ListenerPolicy Parse(string listener)
    {
        Assert.True(ListenerSpec.TryParse(listener, out var spec, out string error), error);
        return ListenerSettings.From(spec!).Policy;
    }

    [Fact]
    public void DefaultsAreOnForAPlainListener()
    {
        var policy = Parse("7=echo");
        Assert.Equal(10_000, policy.MaxConnections);
        Assert.Equal(256, policy.MaxConnectionsPerIp);
        Assert.Equal(100, policy.ConnectionRate);
        Assert.Equal(200, policy.ConnectionBurst);
        Assert.Equal(TimeSpan.FromSeconds(300), policy.IdleTimeout);
        Assert.Equal(TimeSpan.Zero, policy.FirstByteTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), policy.HandshakeTimeout);
        Assert.Null(policy.Allow);
        Assert.True(policy.Admits(IPAddress.Parse("192.0.2.1")));
        Assert.True(policy.Exempt.Contains(IPAddress.Loopback));
        Assert.Null(policy.Tls);
    }

    [Fact]
    public void SinkHasAFirstByteTimeoutByDefault() =>
        Assert.Equal(TimeSpan.FromSeconds(30), Parse("7=sink,path=/tmp/x").FirstByteTimeout);

    [Fact]
    public void ChargenRefusesNonLoopbackPeersUnlessAllowIsGiven()
    {
        var policy = Parse("19=chargen");
        Assert.True(policy.AllowIsLoopbackDefault);
        Assert.False(policy.Admits(IPAddress.Parse("192.0.2.1")));
        Assert.False(policy.Admits(IPAddress.Parse("2001:db8::1")));
        Assert.True(policy.Admits(IPAddress.Parse("127.0.0.2")));
        Assert.True(policy.Admits(IPAddress.IPv6Loopback));

        var opened = Parse("19=chargen,allow=192.0.2.0/24");
        Assert.True(opened.Admits(IPAddress.Parse("192.0.2.1")));
        Assert.False(opened.Admits(IPAddress.Parse("127.0.0.1")));
    }

    [Theory]
    [InlineData("::ffff:10.1.2.3", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("::ffff:11.0.0.1", false)]
    [InlineData("2001:db8::5", true)]
    [InlineData("2001:db9::5", false)]
    public void AllowMatchesIpv4MappedPeersAsIpv4(string peer, bool admitted) =>
        Assert.Equal(admitted, Parse("7=echo,allow=10.0.0.0/8;2001:db8::/32").Admits(IPAddress.Parse(peer)));

    [Fact]
    public void DenyWinsOverAllow()
    {
        var policy = Parse("7=echo,allow=10.0.0.0/8,deny=10.9.0.0/16;::ffff:10.8.0.1");
        Assert.True(policy.Admits(IPAddress.Parse("10.1.0.1")));
        Assert.False(policy.Admits(IPAddress.Parse("10.9.3.4")));
        Assert.False(policy.Admits(IPAddress.Parse("10.8.0.1")));
    }

    [Fact]
    public void ExemptNoneAppliesPerSourceLimitsToLoopbackToo() =>
        Assert.False(Parse("7=echo,exempt=none").Exempt.Contains(IPAddress.Loopback));

    [Fact]
    public void IPv6SourcesAreCountedPerSlash64()
    {
        Assert.Equal(SourceLimits.SourceOf(IPAddress.Parse("2001:db8:1:2::1")), SourceLimits.SourceOf(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        Assert.NotEqual(SourceLimits.SourceOf(IPAddress.Parse("2001:db8:1:2::1")), SourceLimits.SourceOf(IPAddress.Parse("2001:db8:1:3::1")));
        Assert.Equal(IPAddress.Parse("10.0.0.1"), SourceLimits.SourceOf(IPAddress.Parse("::ffff:10.0.0.1")));
    }

    [Fact]
    public void TheTokenBucketRefusesBeyondTheBurstAndRefills()
    {
        var clock = new ManualClock();
        var limits = new SourceLimits(Parse("7=echo,connectionRate=2,connectionBurst=3"), clock);
        var source = IPAddress.Parse("192.0.2.7");
        for (int i = 0; i < 3; i++)
            Assert.Null(limits.TryOpen(source));
        Assert.Equal(RefusalReason.RateExceeded, limits.TryOpen(source));
        Assert.Null(limits.TryOpen(IPAddress.Parse("192.0.2.8")));
        clock.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Null(limits.TryOpen(source));
        Assert.Equal(RefusalReason.RateExceeded, limits.TryOpen(source));
    }

    [Fact]
    public void MaxConnectionsPerIpCountsOpenConnections()
    {
        var limits = new SourceLimits(Parse("7=echo,maxConnectionsPerIp=1"), new ManualClock());
        var source = IPAddress.Parse("192.0.2.7");
        Assert.Null(limits.TryOpen(source));
        Assert.Equal(RefusalReason.SourceFull, limits.TryOpen(source));
        limits.Close(source);
        Assert.Null(limits.TryOpen(source));
    }

    [Theory]
    [InlineData("7=echo,idleTimeout=-1")]
    [InlineData("7=echo,handshakeTimeout=0")]
    [InlineData("7=echo,connectionRate=fast")]
    [InlineData("7=echo,deny=300.1.1.1")]
    [InlineData("7=echo,allow=::1/129")]
    [InlineData("7=echo,tls=maybe")]
    [InlineData("7=echo,tls=off,cert=/x.pem")]
    public void BadValuesAreRejectedNamingTheKey(string listener)
    {
        var error = Assert.Throws<ServiceOptionException>(() => Parse(listener));
        Assert.Contains(listener.Split(',')[1].Split('=')[0], error.Message);
    }

    [Fact]
    public void ServicesIgnoreListenerKeysButStillRejectUnknownOnes()
    {
        Assert.True(ListenerSpec.TryParse("7=echo,maxConnections=5,allow=127.0.0.1,idleTimeout=0", out var spec, out _));
        ServiceCatalog.Create(new ServiceContext(ListenerSettings.From(spec!), TimeProvider.System, NullLoggerFactory.Instance));
        Assert.True(ListenerSpec.TryParse("7=echo,maxConnection=5", out var typo, out _));
        Assert.Throws<ServiceOptionException>(() => ListenerSettings.From(typo!));
    }
}
