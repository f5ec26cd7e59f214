using Ferry.Protocol;

namespace Ferry.Daemon.Services.Chat;

/// <summary>What the chat service does with one line of text from one client.</summary>
internal static class ChatCommands
{
    public static readonly string[] Help =
    [
        "commands:",
        "  /nick NAME    change your nickname (" + ChatNames.NickRule + ")",
        "  /join ROOM    move to ROOM (created when first joined)",
        "  /part         leave your room for #lobby",
        "  /who          list the members of your room",
        "  /rooms        list rooms and member counts",
        "  /quit [WHY]   leave",
        "  /help         this text",
        "any other line is said to your room; start it with // to say a line beginning with /",
    ];

    /// <summary>Handles <paramref name="text"/>; false when the client asked to quit.</summary>
    public static bool Handle(ChatHub hub, ChatClient client, string text)
    {
        if (text.Length == 0)
            return true;
        if (!text.StartsWith('/'))
        {
            hub.Say(client, text);
            return true;
        }
        if (text.StartsWith("//", StringComparison.Ordinal))
        {
            hub.Say(client, text[1..]);
            return true;
        }

        int space = text.IndexOf(' ');
        string command = (space < 0 ? text[1..] : text[1..space]).ToLowerInvariant();
        string argument = space < 0 ? "" : text[(space + 1)..].Trim();
        switch (command)
        {
            case "nick":
                if (argument.Length == 0)
                    client.Tell(ChatWire.Notice($"you are {client.Nick}"));
                else if (hub.Rename(client, argument) is { } error)
                    client.Tell(ChatWire.Error(error));
                return true;
            case "join":
                if (!ChatNames.TryNormalizeRoom(argument, out string room))
                    client.Tell(ChatWire.Error(argument.Length == 0 ? "usage: /join ROOM" : $"invalid room '{argument}': {ChatNames.RoomRule}"));
                else
                    hub.MoveTo(client, room);
                return true;
            case "part":
                if (client.Room == ChatNames.Lobby)
                    client.Tell(ChatWire.Error($"you are in #{ChatNames.Lobby} already; /quit to leave"));
                else
                    hub.MoveTo(client, ChatNames.Lobby);
                return true;
            case "who":
                client.Tell(ChatWire.Notice($"#{client.Room}: {string.Join(", ", hub.Members(client.Room))}"));
                return true;
            case "rooms":
                client.Tell(ChatWire.Notice("rooms: " + string.Join(", ", hub.Rooms().Select(r => $"#{r.Room} ({r.Members})"))));
                return true;
            case "quit":
                client.Tell(ChatWire.Notice("bye"));
                return false;
            case "help":
                foreach (string line in Help)
                    client.Tell(ChatWire.Notice(line));
                return true;
            default:
                client.Tell(ChatWire.Error($"unknown command /{command}; /help lists commands"));
                return true;
        }
    }

    /// <summary>The last line a client cut off as a slow consumer gets, if it still reads at all.</summary>
    public static byte[] Farewell(string reason) => ChatLine.Error($"disconnected: slow consumer ({reason})");

}
