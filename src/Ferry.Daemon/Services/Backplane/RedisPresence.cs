using System.Globalization;
using System.Threading.Channels;
using Ferry.Daemon.Services.Chat;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Ferry.Daemon.Services.Backplane;

/// <summary>
/// Who is on the chat hub's other ferryds, kept in Redis by each of them. Every ferryd writes its
/// members to a hash (<c>ferry:CLUSTER:m:NODE</c>, nick → room) and its heartbeat to a sorted set
/// (<c>ferry:CLUSTER:nodes</c>, scored with Redis's clock) every heartbeat, and announces each
/// change on <c>ferry:CLUSTER:p</c>, so the others' views follow at once; at every heartbeat each
/// view is also read again from the hashes of the nodes alive. A nick other than a guest's is
/// claimed with <c>SET ferry:CLUSTER:nick:NICK NODE NX</c>, refreshed by the heartbeat: two members
/// renaming to one nick at the same moment on two ferryds, the second to claim it goes back.
/// </summary>
/// <remarks>
/// A ferryd that has not beaten for two heartbeats is gone: it drops out of every view at the next
/// heartbeat (so within three), and one ferryd (the first to take <c>ferry:CLUSTER:reap:NODE</c>)
/// tells each room its members left and removes its hash. While Redis is unreachable the view of
/// the others is kept as it was; this ferryd's members are written again when Redis is back.
/// </remarks>
internal sealed partial class RedisPresence : ISharedPresence, IAsyncDisposable
{
    private readonly RedisRoomDelivery _delivery;
    private readonly TimeSpan _heartbeat;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _mine = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Dictionary<string, string>> _others = new(StringComparer.Ordinal);
    private readonly Channel<Func<IDatabase, Task>> _changes = Channel.CreateUnbounded<Func<IDatabase, Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _beating;
    private readonly Task _writing;
    private bool _subscribed;

    /// <summary>Heartbeats written in a row since Redis was last reachable: none is reaped before two (after an outage every score is old).</summary>
    private int _beatsInARow;

    public RedisPresence(RedisRoomDelivery delivery, TimeSpan heartbeat, ILogger logger)
    {
        _delivery = delivery;
        _heartbeat = heartbeat;
        _logger = logger;
        _beating = BeatAsync();
        _writing = WriteAsync();
    }

    private string Key(string name) => _delivery.Prefix + name;

    private string Node => _delivery.Node;

    public IReadOnlyList<(string Nick, string Room)> Elsewhere()
    {
        lock (_gate)
            return [.. _others.Values.SelectMany(members => members.Select(m => (m.Key, m.Value)))];
    }

    public bool IsTakenElsewhere(string nick)
    {
        lock (_gate)
            return _others.Values.Any(members => members.ContainsKey(nick));
    }

    public void InRoom(string nick, string room)
    {
        lock (_gate)
            _mine[nick] = room;
        Change(async db =>
        {
            await db.HashSetAsync(Key("m:" + Node), nick, room);
            await db.PublishAsync(RedisChannel.Literal(Key("p")), $"{Node} in {nick} {room}");
        });
    }

    public void Renamed(string old, string nick, string room, Action lost)
    {
        lock (_gate)
        {
            _mine.Remove(old);
            _mine[nick] = room;
        }
        Change(async db =>
        {
            if (!await db.StringSetAsync(Key("nick:" + nick.ToLowerInvariant()), Node, Lease, When.NotExists)
                && await db.StringGetAsync(Key("nick:" + nick.ToLowerInvariant())) != Node)
            {
                lock (_gate)
                    _mine.Remove(nick);
                lost();
                return;
            }
            // Only a new name (not a change of case) frees the old claim: it is the same key.
            if (!old.Equals(nick, StringComparison.OrdinalIgnoreCase))
                await ReleaseAsync(db, old);
            await db.HashDeleteAsync(Key("m:" + Node), old);
            await db.HashSetAsync(Key("m:" + Node), nick, room);
            await db.PublishAsync(RedisChannel.Literal(Key("p")), $"{Node} out {old}");
            await db.PublishAsync(RedisChannel.Literal(Key("p")), $"{Node} in {nick} {room}");
        });
    }

    public void Left(string nick)
    {
        lock (_gate)
            _mine.Remove(nick);
        Change(async db =>
        {
            await ReleaseAsync(db, nick);
            await db.HashDeleteAsync(Key("m:" + Node), nick);
            await db.PublishAsync(RedisChannel.Literal(Key("p")), $"{Node} out {nick}");
        });
    }

    /// <summary>How long a nick claim outlives its last heartbeat.</summary>
    private TimeSpan Lease => 3 * _heartbeat;

    /// <summary>How long a member hash outlives its last heartbeat: longer than a node is given to be reaped, so the reaper finds its members.</summary>
    private TimeSpan MembersLease => 5 * _heartbeat;

    /// <summary>A claim is refreshed only if it is ours or free: a heartbeat never takes a nick another node holds.</summary>
    private const string ClaimIfFreeOrMine = """
        local holder = redis.call('GET', KEYS[1])
        if holder == false or holder == ARGV[1] then
            redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
            return 1
        end
        return 0
        """;

    private const string ReleaseIfMine = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

    private Task ReleaseAsync(IDatabase db, string nick) =>
        db.ScriptEvaluateAsync(ReleaseIfMine, [Key("nick:" + nick.ToLowerInvariant())], [Node]);

    private void Change(Func<IDatabase, Task> change) => _changes.Writer.TryWrite(change);

    /// <summary>Changes go to Redis in the order they happened; while it is away they are skipped (the heartbeat writes everything again).</summary>
    private async Task WriteAsync()
    {
        try
        {
            await foreach (var change in _changes.Reader.ReadAllAsync(_stop.Token))
            {
                if (!_delivery.IsUp || _delivery.Redis is not { } redis)
                    continue;
                try
                {
                    await change(redis.GetDatabase());
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The next heartbeat writes everything again; the loop must go on.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task BeatAsync()
    {
        using var timer = new PeriodicTimer(_heartbeat);
        do
        {
            if (!_delivery.IsUp || _delivery.Redis is not { } redis)
            {
                _beatsInARow = 0;
                continue;
            }
            try
            {
                await SubscribeAsync(redis);
                await BeatOnceAsync(redis.GetDatabase());
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _beatsInARow = 0;
                BeatFailed(_logger, _delivery.Description, ex.GetBaseException().Message);
            }
        }
        while (await TickAsync(timer));
    }

    private async Task<bool> TickAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task SubscribeAsync(ConnectionMultiplexer redis)
    {
        if (_subscribed)
            return;
        var queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(Key("p")));
        queue.OnMessage(Heard);
        _subscribed = true;
    }

    /// <summary>"NODE in NICK ROOM" or "NODE out NICK" from another ferryd.</summary>
    private void Heard(ChannelMessage message)
    {
        string[] parts = ((string)message.Message!).Split(' ');
        if (parts.Length < 3 || parts[0] == Node)
            return;
        lock (_gate)
        {
            if (!_others.TryGetValue(parts[0], out var members))
                _others[parts[0]] = members = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (parts[1] == "in" && parts.Length == 4)
                members[parts[2]] = parts[3];
            else if (parts[1] == "out")
                members.Remove(parts[2]);
        }
    }

    /// <summary>This ferryd's heartbeat and members; then the others', read again; then the dead ones reaped.</summary>
    private async Task BeatOnceAsync(IDatabase db)
    {
        long now = await RedisClock.NowAsync(db);
        KeyValuePair<string, string>[] mine;
        lock (_gate)
            mine = [.. _mine];
        string hash = Key("m:" + Node);
        var batch = db.CreateBatch();
        var writes = new List<Task>
        {
            batch.SortedSetAddAsync(Key("nodes"), Node, now),
            batch.KeyDeleteAsync(hash),
        };
        if (mine.Length > 0)
            writes.Add(batch.HashSetAsync(hash, [.. mine.Select(m => new HashEntry(m.Key, m.Value))]));
        writes.Add(batch.KeyExpireAsync(hash, MembersLease));
        foreach (var (nick, _) in mine.Where(m => !m.Key.StartsWith("guest-", StringComparison.OrdinalIgnoreCase)))
        {
            writes.Add(batch.ScriptEvaluateAsync(ClaimIfFreeOrMine, [Key("nick:" + nick.ToLowerInvariant())],
                [Node, (long)Lease.TotalMilliseconds]));
        }
        batch.Execute();
        await Task.WhenAll(writes);
        _beatsInARow++;

        // Alive: beaten within two heartbeats.
        long alive = now - 2 * (long)_heartbeat.TotalMilliseconds;
        var nodes = await db.SortedSetRangeByScoreWithScoresAsync(Key("nodes"));
        var view = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var entry in nodes)
        {
            string node = entry.Element!;
            if (node == Node)
                continue;
            if (entry.Score < alive)
            {
                // After an outage every score is old: the others get two heartbeats to beat again.
                if (_beatsInARow >= 2)
                    await ReapAsync(db, node);
                continue;
            }
            var members = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var member in await db.HashGetAllAsync(Key("m:" + node)))
                members[(string)member.Name!] = (string)member.Value!;
            view[node] = members;
        }
        lock (_gate)
        {
            _others.Clear();
            foreach (var (node, members) in view)
                _others[node] = members;
        }
    }

    /// <summary>A ferryd gone silent: one of the others tells each room its members left, and removes it.</summary>
    private async Task ReapAsync(IDatabase db, string node)
    {
        if (!await db.StringSetAsync(Key("reap:" + node), Node, Lease, When.NotExists))
            return;
        var members = await db.HashGetAllAsync(Key("m:" + node));
        foreach (var member in members)
        {
            string nick = member.Name!, room = member.Value!;
            _delivery.Publish(room, ChatLine.Notice($"{nick} left #{room} (their server is gone)"), null);
        }
        await db.KeyDeleteAsync(Key("m:" + node));
        await db.SortedSetRemoveAsync(Key("nodes"), node);
        NodeGone(_logger, _delivery.Description, node, members.Length);
    }

    public async ValueTask DisposeAsync()
    {
        // The members' last leaves and nick releases go out first, if Redis takes them soon.
        _changes.Writer.TryComplete();
        await Task.WhenAny(_writing, Task.Delay(TimeSpan.FromSeconds(2)));
        await _stop.CancelAsync();
        await Task.WhenAll(_beating, _writing);
        // Leaving for good: the others need not wait for the heartbeat to run out.
        if (_delivery.IsUp && _delivery.Redis is { } redis)
        {
            try
            {
                var db = redis.GetDatabase();
                await db.KeyDeleteAsync(Key("m:" + Node));
                await db.SortedSetRemoveAsync(Key("nodes"), Node);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
            }
        }
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 106, Level = LogLevel.Debug, Message = "backplane {Backplane}: heartbeat failed: {Reason}")]
    private static partial void BeatFailed(ILogger logger, string backplane, string reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "backplane {Backplane}: node {Node} stopped beating; its {Count} members were told to have left")]
    private static partial void NodeGone(ILogger logger, string backplane, string node, int count);
}
