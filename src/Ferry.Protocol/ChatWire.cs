using System.Text;

namespace Ferry.Protocol;

/// <summary>
/// The chat service's line formats, in one place for the service that writes them and for the
/// load generator (ferry-bench's chat mode) that reads them: <c>&lt;nick&gt; text</c> for what a
/// member says, <c>* </c> notices, <c>! </c> errors, and the notice that confirms entering a
/// room. Text without the newline: the service adds it and encodes.
/// </summary>
public static class ChatWire
{
    public const string NoticePrefix = "* ";
    public const string ErrorPrefix = "! ";

    private const string NickOpen = "<";
    private const string NickClose = "> ";
    private const string EnteredRoomStart = "you are ";
    private const string EnteredRoomNotice = NoticePrefix + EnteredRoomStart;
    private const string EnteredRoomMiddle = " in #";
    private const string EnteredRoomEnd = " (";

    private static readonly byte[] NoticePrefixBytes = Encoding.ASCII.GetBytes(NoticePrefix);
    private static readonly byte[] ErrorPrefixBytes = Encoding.ASCII.GetBytes(ErrorPrefix);
    private static readonly byte[] NickOpenBytes = Encoding.ASCII.GetBytes(NickOpen);
    private static readonly byte[] NickCloseBytes = Encoding.ASCII.GetBytes(NickClose);

    /// <summary>What <paramref name="nick"/> said, as the other members of the room get it.</summary>
    public static string Message(string nick, string text) => NickOpen + nick + NickClose + text;

    public static string Notice(string text) => NoticePrefix + text;

    public static string Error(string text) => ErrorPrefix + text;

    /// <summary>The notice's text a client gets on entering <paramref name="room"/>: its welcome, and the answer to <c>/join</c>.</summary>
    public static string EnteredRoom(string nick, string room, int members) =>
        $"{EnteredRoomStart}{nick}{EnteredRoomMiddle}{room}{EnteredRoomEnd}{members} {(members == 1 ? "member" : "members")}); /help lists commands";

    /// <summary>Reads the notice line of <see cref="EnteredRoom"/> (without its newline) back: who entered which room.</summary>
    public static bool TryReadEnteredRoom(string line, out string nick, out string room)
    {
        nick = room = string.Empty;
        if (!line.StartsWith(EnteredRoomNotice, StringComparison.Ordinal))
            return false;
        int middle = line.IndexOf(EnteredRoomMiddle, EnteredRoomNotice.Length, StringComparison.Ordinal);
        if (middle < 0)
            return false;
        int roomStart = middle + EnteredRoomMiddle.Length;
        int end = line.IndexOf(EnteredRoomEnd, roomStart, StringComparison.Ordinal);
        if (end < 0)
            return false;
        nick = line[EnteredRoomNotice.Length..middle];
        room = line[roomStart..end];
        return nick.Length > 0 && room.Length > 0;
    }

    public static bool IsNotice(ReadOnlySpan<byte> line) => line.StartsWith(NoticePrefixBytes);

    public static bool IsError(ReadOnlySpan<byte> line) => line.StartsWith(ErrorPrefixBytes);

    /// <summary>Where the text of a <see cref="Message"/> line starts, or -1 when <paramref name="line"/> is not one.</summary>
    public static int MessageTextStart(ReadOnlySpan<byte> line)
    {
        if (!line.StartsWith(NickOpenBytes))
            return -1;
        int close = line.IndexOf(NickCloseBytes);
        return close < 0 ? -1 : close + NickCloseBytes.Length;
    }
}
