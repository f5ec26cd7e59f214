namespace Ferry.Tests;

/// <summary>
/// ferry-bench --udp's check of what comes back (DatagramSender): the echo of the datagram in
/// flight, a late echo of one given up, and anything else, for datagrams longer and shorter
/// than the 8 bytes of the number.
/// </summary>
public sealed class BenchDatagramTests
{
    private static readonly PayloadPattern Pattern = new(64 * 1024);

    [Theory]
    [InlineData(64)]
    [InlineData(8)]
    [InlineData(3)]
    [InlineData(1)]
    public void AnUntouchedEchoIsTheOneInFlightAndTheNextDatagramDiffers(int size)
    {
        var sender = new DatagramSender(5, size, Pattern);
        byte[] first = sender.Datagram.ToArray();

        Assert.Equal(DatagramEcho.InFlight, sender.Check(first, out int corrupt));
        Assert.Equal(0, corrupt);
        sender.Echoed();

        Assert.Equal(1, sender.Number);
        Assert.False(first.AsSpan().SequenceEqual(sender.Datagram));
        // The first datagram's echo once more: no datagram of this sender is waiting for it.
        Assert.Equal(DatagramEcho.Stray, sender.Check(first, out _));
    }

    [Fact]
    public void AFlippedPayloadByteIsCountedOnTheEchoInFlight()
    {
        var sender = new DatagramSender(0, 64, Pattern);
        byte[] echo = sender.Datagram.ToArray();
        echo[40] ^= 0xFF;

        Assert.Equal(DatagramEcho.InFlight, sender.Check(echo, out int corrupt));
        Assert.Equal(1, corrupt);
    }

    [Theory]
    [InlineData(63)]
    [InlineData(65)]
    [InlineData(0)]
    public void AnEchoOfAnotherLengthIsWrongSize(int length)
    {
        var sender = new DatagramSender(0, 64, Pattern);
        byte[] echo = new byte[length];
        sender.Datagram[..Math.Min(length, 64)].CopyTo(echo);

        Assert.Equal(DatagramEcho.WrongSize, sender.Check(echo, out _));
    }

    [Fact]
    public void TheEchoOfADatagramGivenUpIsLateOnceThenStray()
    {
        var sender = new DatagramSender(2, 64, Pattern);
        byte[] lost = sender.Datagram.ToArray();
        sender.GiveUp();
        byte[] inFlight = sender.Datagram.ToArray();

        Assert.Equal(DatagramEcho.Late, sender.Check(lost, out int corrupt));
        Assert.Equal(0, corrupt);
        Assert.Equal(DatagramEcho.Stray, sender.Check(lost, out _));
        Assert.Equal(DatagramEcho.InFlight, sender.Check(inFlight, out _));
    }

    [Fact]
    public void AnotherSendersDatagramIsStray()
    {
        var mine = new DatagramSender(1, 64, Pattern);
        var theirs = new DatagramSender(2, 64, Pattern);
        mine.GiveUp(); // numbers differ: 1 and 0
        theirs.Echoed();
        theirs.Echoed(); // 2

        Assert.Equal(DatagramEcho.Stray, mine.Check(theirs.Datagram, out _));
    }

    [Fact]
    public void AnotherSendersDatagramWithTheSameNumberHasEveryPatternByteWrong()
    {
        // The same number, another seed: it passes as the one in flight by its number, and the
        // pattern after it shows it is not.
        var mine = new DatagramSender(1, 64, Pattern);
        var theirs = new DatagramSender(2, 64, Pattern);

        Assert.Equal(DatagramEcho.InFlight, mine.Check(theirs.Datagram, out int corrupt));
        Assert.Equal(64 - DatagramSender.NumberBytes, corrupt);
    }
}
