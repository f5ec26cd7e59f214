namespace Ferry.Daemon.Services.Chat;

/// <summary>
/// What a nickname and a room name may be. Kept to a plain ASCII set so names are easy to type
/// from nc, cannot be confused with one another, and cannot carry control characters.
/// </summary>
internal static class ChatNames
{
    public const int MaxNick = 20;
    public const int MaxRoom = 32;
    public const string Lobby = "lobby";

    public const string NickRule = "1-20 characters: letters, digits, '-', '_' or '.', starting with a letter";
    public const string RoomRule = "1-32 characters: letters, digits, '-', '_' or '.'";

    public static bool IsValidNick(string nick) =>
        nick.Length is >= 1 and <= MaxNick && char.IsAsciiLetter(nick[0]) && nick.All(IsNameChar);

    /// <summary>Room names are case-insensitive, shown lowercased; a leading '#' is optional.</summary>
    public static bool TryNormalizeRoom(string text, out string room)
    {
        room = text.StartsWith('#') ? text[1..] : text;
        room = room.ToLowerInvariant();
        return room.Length is >= 1 and <= MaxRoom && room.All(IsNameChar);
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';
}
