namespace Ferry.Daemon.Services.Fanout;

/// <summary>
/// How a fan-out sender is slowed by the members that keep up, and only by them (ncat --broker
/// delivers a bulk push to a reader reading at full speed; a queue limit alone would cut it):
/// before reading more from the sender, wait while a member's queue is above a quarter of the
/// hard limit and that member is still making progress. A member that made no progress for
/// <see cref="StallTime"/> holds no one back; its queue then grows to its limits and it is cut.
/// </summary>
internal static class FanoutPacing
{
    /// <summary>A member that delivered nothing for this long is not keeping up, and is not waited for.</summary>
    public static readonly TimeSpan StallTime = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The most a sender may hand the room between two waits: a member let through at a quarter
    /// of its hard limit then stays under half of it.
    /// </summary>
    public static long LargestStep(OutboundLimits limits) => Math.Max(1, limits.HardLimit / 4);

    public static async Task WaitForMembersAsync(IRoomDelivery delivery, string room, OutboundQueue sender, OutboundLimits limits,
        TimeProvider time, CancellationToken cancellationToken)
    {
        long highWater = LargestStep(limits);
        while (true)
        {
            OutboundQueue? behind = null;
            foreach (var member in delivery.Members(room))
            {
                if (member != sender && !member.IsCut && member.QueuedBytes > highWater
                    && time.GetElapsedTime(member.LastProgress) < StallTime)
                {
                    behind = member;
                    break;
                }
            }
            if (behind is null)
                return;
            var progress = behind.NextProgressAsync();
            if (behind.QueuedBytes <= highWater)
                continue; // delivered meanwhile
            try
            {
                await progress.WaitAsync(StallTime, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                // No progress for a whole stall time: the next look counts it as stalled.
            }
        }
    }
}
