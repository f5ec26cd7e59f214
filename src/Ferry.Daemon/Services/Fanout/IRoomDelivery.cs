namespace Ferry.Daemon.Services.Fanout;

/// <summary>
/// The seam between a service and how its messages reach a room's members. Today
/// <see cref="LocalRoomDelivery"/> enqueues into the queues of this process's members; a
/// backplane (Redis pub/sub) would publish to the other ferryd instances as well and feed
/// what they publish into its local delivery, without the chat or broker code changing.
/// </summary>
internal interface IRoomDelivery
{
    void Join(string room, OutboundQueue member);

    void Leave(string room, OutboundQueue member);

    /// <summary>
    /// Queues <paramref name="message"/> for every member of <paramref name="room"/> except
    /// <paramref name="sender"/>; never waits. The buffer is shared, so it must not change after.
    /// </summary>
    void Publish(string room, ReadOnlyMemory<byte> message, OutboundQueue? sender);

    /// <summary>Messages published so far (metrics).</summary>
    long MessagesPublished { get; }

    /// <summary>Bytes queued for members so far, each copy counted (metrics).</summary>
    long BytesQueued { get; }

    /// <summary>The queues of this process's members of <paramref name="room"/>, for pacing a sender (<see cref="FanoutPacing"/>).</summary>
    IReadOnlyList<OutboundQueue> Members(string room);
}
