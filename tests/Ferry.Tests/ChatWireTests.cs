using System.Text;
using Ferry.Protocol;

namespace Ferry.Tests;

/// <summary>The chat lines the service writes and the load generator reads, from the one place both take them.</summary>
public sealed class ChatWireTests
{
    [Theory]
    [InlineData("guest-1", "lobby", 1, "* you are guest-1 in #lobby (1 member); /help lists commands")]
    [InlineData("ann", "bench-42-7", 50, "* you are ann in #bench-42-7 (50 members); /help lists commands")]
    public void TheRoomNoticeReadsBackAsWhoEnteredWhichRoom(string nick, string room, int members, string line)
    {
        string written = ChatWire.Notice(ChatWire.EnteredRoom(nick, room, members));

        Assert.Equal(line, written);
        Assert.True(ChatWire.TryReadEnteredRoom(written, out string readNick, out string readRoom));
        Assert.Equal((nick, room), (readNick, readRoom));
    }

    [Theory]
    [InlineData("* you are now ann")]
    [InlineData("* you are ann")]
    [InlineData("<ann> * you are bob in #x (2 members)")]
    [InlineData("! you are in #lobby already; /quit to leave")]
    [InlineData("/join x")]
    public void OtherLinesAreNotARoomNotice(string line)
    {
        Assert.False(ChatWire.TryReadEnteredRoom(line, out _, out _));
    }

    [Fact]
    public void AMessageLinesTextStartsAfterTheNick()
    {
        byte[] line = Encoding.UTF8.GetBytes(ChatWire.Message("ann", "b 1 2 3 pad"));

        int start = ChatWire.MessageTextStart(line);

        Assert.Equal("b 1 2 3 pad", Encoding.UTF8.GetString(line.AsSpan(start)));
        Assert.False(ChatWire.IsNotice(line));
        Assert.False(ChatWire.IsError(line));
    }

    [Theory]
    [InlineData("* ann joined #x", true, false)]
    [InlineData("! line too long (max 16 bytes); discarded", false, true)]
    [InlineData("b 1 2 3", false, false)]
    public void NoticesErrorsAndEverythingElse(string line, bool notice, bool error)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(line);

        Assert.Equal(notice, ChatWire.IsNotice(bytes));
        Assert.Equal(error, ChatWire.IsError(bytes));
        Assert.Equal(-1, ChatWire.MessageTextStart(bytes));
    }
}
