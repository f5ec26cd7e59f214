using System.Net;
using Ferry.Daemon.Listeners;

namespace Ferry.Tests;

/// <summary>Every reason a listener refuses a peer, and the order the rules run in.</summary>
public sealed class AdmissionTests
{
    private static readonly IPAddress Stranger = IPAddress.Parse("192.0.2.7");
    private static readonly IPAddress MappedStranger = IPAddress.Parse("::ffff:192.0.2.7");

    private static Admission For(string listener, ManualClock? clock = null, long? descriptorLimit = 1024)
    {
        Assert.True(ListenerSpec.TryParse(listener, out var spec, out string error), error);
        var policy = ListenerSettings.From(spec!).Policy;
        return new Admission(policy, spec!.Service, new SourceLimits(policy, clock ?? new ManualClock()), descriptorLimit);
    }

    [Fact]
    public void APeerWithinEveryLimitIsAdmittedAndCountedAgainstItsSource()
    {
        var verdict = For("7=echo").Decide(Stranger, descriptor: 10, open: 0);
        Assert.Null(verdict.Refusal);
        Assert.Equal(Stranger, verdict.Source?.Address);
    }

    [Fact]
    public void LoopbackIsExemptFromTheSourceLimitsByDefault()
    {
        var verdict = For("7=echo").Decide(IPAddress.Loopback, 10, 0);
        Assert.Null(verdict.Refusal);
        Assert.Null(verdict.Source);
    }

    [Fact]
    public void ADescriptorInsideTheReserveIsRefusedFirst()
    {
        // Limit 1024: a sixteenth, 64, is kept back, so 960 and up are refused, even from an allowed peer.
        var admission = For("7=echo,deny=192.0.2.0/24");
        Assert.Equal(RefusalReason.OutOfDescriptors, admission.Decide(Stranger, 960, 0).Refusal);
        Assert.Equal(RefusalReason.NotAllowed, admission.Decide(Stranger, 959, 0).Refusal);
    }

    [Fact]
    public void DenyAndAllowAreCheckedBeforeTheCaps()
    {
        Assert.Equal(RefusalReason.NotAllowed, For("7=echo,deny=192.0.2.0/24,maxConnections=1").Decide(Stranger, 10, 5).Refusal);
        Assert.Equal(RefusalReason.NotAllowed, For("7=echo,allow=10.0.0.0/8").Decide(MappedStranger, 10, 0).Refusal);
        var amplifier = For("19=chargen").Decide(Stranger, 10, 0);
        Assert.Equal(RefusalReason.NotAllowed, amplifier.Refusal);
        Assert.Contains("chargen serves loopback peers only unless allow= is set", amplifier.Detail);
    }

    [Fact]
    public void AFullListenerRefusesWithItsLimit()
    {
        var verdict = For("7=echo,maxConnections=3").Decide(Stranger, 10, open: 3);
        Assert.Equal(RefusalReason.ListenerFull, verdict.Refusal);
        Assert.Contains("maxConnections 3", verdict.Detail);
        Assert.Null(For("7=echo,maxConnections=0").Decide(Stranger, 10, open: 1_000_000).Refusal);
    }

    [Fact]
    public void ASourceHoldingItsShareIsRefusedUntilOneCloses()
    {
        var clock = new ManualClock();
        Assert.True(ListenerSpec.TryParse("7=echo,maxConnectionsPerIp=2", out var spec, out _));
        var policy = ListenerSettings.From(spec!).Policy;
        var sources = new SourceLimits(policy, clock);
        var admission = new Admission(policy, "echo", sources, 1024);
        var first = admission.Decide(Stranger, 10, 0);
        Assert.Null(admission.Decide(MappedStranger, 11, 1).Refusal);
        Assert.Equal(RefusalReason.SourceFull, admission.Decide(Stranger, 12, 2).Refusal);
        sources.Close(first.Source!.Value);
        Assert.Null(admission.Decide(Stranger, 12, 1).Refusal);
    }

    [Fact]
    public void ASourceOpeningFasterThanItsRateIsRefusedUntilItsBucketRefills()
    {
        var clock = new ManualClock();
        var admission = For("7=echo,connectionRate=1,connectionBurst=2,maxConnectionsPerIp=0", clock);
        Assert.Null(admission.Decide(Stranger, 10, 0).Refusal);
        Assert.Null(admission.Decide(Stranger, 10, 0).Refusal);
        var refused = admission.Decide(Stranger, 10, 0);
        Assert.Equal(RefusalReason.RateExceeded, refused.Refusal);
        Assert.Contains("connectionRate 1/s, burst 2", refused.Detail);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(admission.Decide(Stranger, 10, 0).Refusal);
    }

    [Fact]
    public void AnIPv6SourceIsItsSlash64()
    {
        var admission = For("7=echo,maxConnectionsPerIp=1");
        Assert.Null(admission.Decide(IPAddress.Parse("2001:db8:1:2::1"), 10, 0).Refusal);
        Assert.Equal(RefusalReason.SourceFull, admission.Decide(IPAddress.Parse("2001:db8:1:2:ffff::9"), 10, 1).Refusal);
        Assert.Null(admission.Decide(IPAddress.Parse("2001:db8:1:3::1"), 10, 1).Refusal);
    }

    [Fact]
    public void AUnixPeerIsJudgedByItsUserAndCountedPerUser()
    {
        // Uid 0 and ferryd's own user are exempt from the per-source limits, as loopback is on TCP.
        var admission = For("unix:/run/ferry/echo.sock=echo,allowUid=0;65534,maxConnectionsPerIp=1");
        var nobody = new Ferry.Daemon.Transport.UnixPeer(new Ferry.Platform.Linux.PeerCredentials(4242, 65534, 65534));
        var stranger = new Ferry.Daemon.Transport.UnixPeer(new Ferry.Platform.Linux.PeerCredentials(4243, 1000, 1000));
        var root = new Ferry.Daemon.Transport.UnixPeer(new Ferry.Platform.Linux.PeerCredentials(1, 0, 0));

        var first = admission.Decide(nobody, 10, 0);
        Assert.Null(first.Refusal);
        Assert.Equal(PeerSource.OfUser(65534), first.Source);
        var second = admission.Decide(nobody, 11, 1);
        Assert.Equal(RefusalReason.SourceFull, second.Refusal);
        Assert.Contains("too many connections from uid 65534", second.Detail);
        Assert.Equal(RefusalReason.NotAllowed, admission.Decide(stranger, 12, 1).Refusal);
        Assert.Null(admission.Decide(root, 13, 1).Refusal);
        Assert.Null(admission.Decide(root, 14, 2).Refusal);
    }
}
