using Ferry.Daemon.Connections;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Tests;

/// <summary>The one place a close reason is decided: every input that may have a say, and which wins.</summary>
public sealed class ConnectionEndingTests
{
    [Fact]
    public void TheServicesOwnEndingStandsWhenNothingElseHappened()
    {
        foreach (var returned in new[] { CloseReason.PeerClosed, CloseReason.ClientQuit, CloseReason.SlowConsumer, CloseReason.TlsHandshakeFailed })
            Assert.Equal(returned, ConnectionEnding.Decide(returned, null, stopping: false, expired: null));
    }

    [Fact]
    public void AServiceThatWasAskedToStopAndThrewTheCancellationEndsWithShutdown() =>
        Assert.Equal(CloseReason.Shutdown, ConnectionEnding.Decide(null, new OperationCanceledException(), stopping: true, expired: null));

    [Fact]
    public void ACancellationNobodyAskedForIsAnError() =>
        Assert.Equal(CloseReason.Error, ConnectionEnding.Decide(null, new OperationCanceledException(), stopping: false, expired: null));

    [Fact]
    public void AnAbortedTransportEndsWithAborted_OrWithShutdownWhenFerrydAskedItToStop()
    {
        Assert.Equal(CloseReason.Aborted, ConnectionEnding.Decide(null, new ConnectionAbortedException("cut off"), stopping: false, expired: null));
        // An abort is a cancellation too: at shutdown it is the shutdown's deadline.
        Assert.Equal(CloseReason.Shutdown, ConnectionEnding.Decide(null, new ConnectionAbortedException("deadline"), stopping: true, expired: null));
    }

    [Fact]
    public void AResetOrBrokenPipeEndsWithPeerReset()
    {
        Assert.Equal(CloseReason.PeerReset, ConnectionEnding.Decide(null, new ConnectionResetException("reset"), false, null));
        Assert.Equal(CloseReason.PeerReset, ConnectionEnding.Decide(null, new IOException("broken pipe"), false, null));
    }

    [Fact]
    public void AnythingElseIsAnErrorWorthLogging()
    {
        var bug = new InvalidOperationException("bug");
        var reason = ConnectionEnding.Decide(null, bug, stopping: false, expired: null);
        Assert.Equal(CloseReason.Error, reason);
        Assert.True(ConnectionEnding.IsUnexpected(reason, bug));
        Assert.False(ConnectionEnding.IsUnexpected(CloseReason.PeerReset, new IOException()));
    }

    [Fact]
    public void TheSweepsTimeoutWinsOverWhateverTheServiceSawNext()
    {
        foreach (var expired in new[] { CloseReason.IdleTimeout, CloseReason.FirstByteTimeout })
            AssertTimeoutWins(expired);
    }

    private static void AssertTimeoutWins(CloseReason expired)
    {
        Assert.Equal(expired, ConnectionEnding.Decide(null, new ConnectionAbortedException("idle"), false, expired));
        Assert.Equal(expired, ConnectionEnding.Decide(CloseReason.PeerReset, null, false, expired));
        Assert.False(ConnectionEnding.IsUnexpected(ConnectionEnding.Decide(null, new InvalidOperationException(), false, expired),
            new InvalidOperationException()));
    }
}
