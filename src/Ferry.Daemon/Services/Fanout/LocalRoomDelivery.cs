namespace Ferry.Daemon.Services.Fanout;

/// <summary>
/// Rooms of this process: each room's members are an immutable array replaced on join and
/// leave, so publishing reads a snapshot without a lock and a slow member holds up no one.
/// </summary>
internal sealed class LocalRoomDelivery : IRoomDelivery
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, OutboundQueue[]> _rooms = new(StringComparer.Ordinal);
    private long _messages;
    private long _bytes;

    public long MessagesPublished
    {
        get
        {
            lock (_gate)
                return _messages;
        }
    }

    public long BytesQueued => Interlocked.Read(ref _bytes);

    public void Join(string room, OutboundQueue member)
    {
        lock (_gate)
        {
            var members = _rooms.GetValueOrDefault(room, []);
            if (Array.IndexOf(members, member) < 0)
                _rooms[room] = [.. members, member];
        }
    }

    public void Leave(string room, OutboundQueue member)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room, out var members))
                return;
            var remaining = members.Where(m => m != member).ToArray();
            if (remaining.Length == 0)
                _rooms.Remove(room);
            else
                _rooms[room] = remaining;
        }
    }

    public IReadOnlyList<OutboundQueue> Members(string room)
    {
        lock (_gate)
            return _rooms.GetValueOrDefault(room) ?? [];
    }

    public void Publish(string room, ReadOnlyMemory<byte> message, OutboundQueue? sender)
    {
        OutboundQueue[]? members;
        lock (_gate)
        {
            members = _rooms.GetValueOrDefault(room);
            _messages++;
        }
        if (members is null)
            return;
        long queued = 0;
        foreach (var member in members)
        {
            // A full queue cuts that member off inside TryEnqueue; the others are unaffected.
            if (member != sender && member.TryEnqueue(message))
                queued += message.Length;
        }
        Interlocked.Add(ref _bytes, queued);
    }
}
