using StackExchange.Redis;

namespace Ferry.Daemon.Services.Backplane;

/// <summary>Redis's own clock (TIME): what every node of a hub compares heartbeats and stream IDs by, whatever their machines' clocks say.</summary>
internal static class RedisClock
{
    /// <summary>Milliseconds since the Unix epoch, as the Redis server counts them.</summary>
    public static async Task<long> NowAsync(IDatabase database)
    {
        var time = (RedisResult[])(await database.ExecuteAsync("TIME"))!;
        return (long)time[0] * 1000 + (long)time[1] / 1000;
    }
}
