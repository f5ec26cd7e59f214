namespace Ferry.Daemon.Services.Chat;

/// <summary>
/// Who is connected to the other ferryds of a chat hub (<see cref="Backplane.RedisPresence"/>). The
/// hub tells it what happens to its own members, under its lock, so every call returns at once:
/// the work with Redis is done on the presence's own loop.
/// </summary>
internal interface ISharedPresence
{
    /// <summary>Members of the other ferryds: nick and room.</summary>
    IReadOnlyList<(string Nick, string Room)> Elsewhere();

    /// <summary>A member of another ferryd has this nick (compared without case).</summary>
    bool IsTakenElsewhere(string nick);

    /// <summary>A member of this ferryd is now in <paramref name="room"/> (connected or moved).</summary>
    void InRoom(string nick, string room);

    /// <summary>A member of this ferryd took <paramref name="nick"/>; <paramref name="lost"/> runs if another ferryd's member claimed it first.</summary>
    void Renamed(string old, string nick, string room, Action lost);

    /// <summary>A member of this ferryd left.</summary>
    void Left(string nick);
}
