using System.Globalization;
using Ferry.Daemon.Services.Fanout;
using Ferry.Protocol;

namespace Ferry.Daemon.Services.Chat;

/// <summary>
/// Who is connected to one chat listener, by nick and by room. Membership changes and their
/// announcements happen under one lock, so every member sees joins, leaves and renames in one
/// order; messages go out through <see cref="IRoomDelivery"/> without it.
/// </summary>
/// <param name="guestPrefix">How guests are named before their number: "guest-", or with a backplane "guest-NODE-", so guests of two nodes never share a name.</param>
/// <param name="presence">The members of the hub's other ferryds, with a backplane; null for a hub of this process alone.</param>
internal sealed class ChatHub(IRoomDelivery delivery, string guestPrefix = "guest-", ISharedPresence? presence = null)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ChatClient> _byNick = new(StringComparer.OrdinalIgnoreCase);
    private long _lastGuest;

    public ChatClient Connect(string peer, OutboundQueue queue)
    {
        lock (_gate)
        {
            string nick;
            do
                nick = guestPrefix + (++_lastGuest).ToString(CultureInfo.InvariantCulture);
            while (_byNick.ContainsKey(nick));
            var client = new ChatClient(nick, peer, queue);
            _byNick[nick] = client;
            EnterRoom(client, ChatNames.Lobby);
            presence?.InRoom(nick, ChatNames.Lobby);
            return client;
        }
    }

    public void Disconnect(ChatClient client, string why)
    {
        lock (_gate)
        {
            if (!_byNick.Remove(client.Nick))
                return;
            LeaveRoom(client, why);
            presence?.Left(client.Nick);
        }
    }

    /// <summary>Null on success, else the error to show.</summary>
    public string? Rename(ChatClient client, string nick)
    {
        if (!ChatNames.IsValidNick(nick))
            return $"invalid nick '{nick}': {ChatNames.NickRule}";
        lock (_gate)
        {
            if ((_byNick.TryGetValue(nick, out var holder) && holder != client) || presence?.IsTakenElsewhere(nick) == true)
                return $"nick {nick} is taken";
            string old = client.Nick;
            _byNick.Remove(old);
            client.Nick = nick;
            _byNick[nick] = client;
            client.Queue.TryEnqueue(ChatLine.Notice($"you are now {nick}"));
            delivery.Publish(client.Room, ChatLine.Notice($"{old} is now known as {nick}"), client.Queue);
            presence?.Renamed(old, nick, client.Room, () => LostNick(client, nick, old));
            return null;
        }
    }

    public void MoveTo(ChatClient client, string room)
    {
        lock (_gate)
        {
            if (client.Room == room)
            {
                client.Queue.TryEnqueue(ChatLine.Error($"you are already in #{room}"));
                return;
            }
            LeaveRoom(client, null);
            EnterRoom(client, room);
            presence?.InRoom(client.Nick, room);
        }
    }

    /// <summary>Another ferryd's member claimed <paramref name="nick"/> at the same moment, and first: this one goes back to its old name, if free.</summary>
    private void LostNick(ChatClient client, string nick, string old)
    {
        lock (_gate)
        {
            if (client.Nick != nick || !_byNick.ContainsKey(nick))
                return;
            string back = _byNick.ContainsKey(old) ? guestPrefix + (++_lastGuest).ToString(CultureInfo.InvariantCulture) : old;
            _byNick.Remove(nick);
            client.Nick = back;
            _byNick[back] = client;
            client.Queue.TryEnqueue(ChatLine.Error($"nick {nick} was taken on another server at the same time; you are {back} again"));
            delivery.Publish(client.Room, ChatLine.Notice($"{nick} is now known as {back}"), client.Queue);
            presence?.InRoom(back, client.Room);
        }
    }

    public void Say(ChatClient client, string text) =>
        delivery.Publish(client.Room, ChatLine.Message(client.Nick, text), client.Queue);

    /// <summary>The room's members on every ferryd of the hub.</summary>
    public List<string> Members(string room)
    {
        lock (_gate)
            return Everyone().Where(m => m.Room == room).Select(m => m.Nick).Order(StringComparer.Ordinal).ToList();
    }

    public List<(string Room, int Members)> Rooms()
    {
        lock (_gate)
            return Everyone().GroupBy(m => m.Room).Select(g => (g.Key, g.Count())).OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
    }

    private IEnumerable<(string Nick, string Room)> Everyone() =>
        _byNick.Values.Select(c => (c.Nick, c.Room)).Concat(presence?.Elsewhere() ?? []);

    private void EnterRoom(ChatClient client, string room)
    {
        client.Room = room;
        delivery.Join(room, client.Queue);
        delivery.Publish(room, ChatLine.Notice($"{client.Nick} joined #{room}"), client.Queue);
        int count = Everyone().Count(m => m.Room == room);
        client.Queue.TryEnqueue(ChatLine.Notice(ChatWire.EnteredRoom(client.Nick, room, count)));
    }

    private void LeaveRoom(ChatClient client, string? why)
    {
        delivery.Leave(client.Room, client.Queue);
        string suffix = why is null ? "" : $" ({why})";
        delivery.Publish(client.Room, ChatLine.Notice($"{client.Nick} left #{client.Room}{suffix}"), client.Queue);
    }
}
