using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Ferry.Daemon.Services.Fanout;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Ferry.Daemon.Services.Backplane;

/// <summary>
/// Rooms shared by every ferryd whose listener names the same Redis and cluster. This node's
/// members get a line at once, from <see cref="LocalRoomDelivery"/>; the line also goes to Redis,
/// in the order it was said, by one script that appends it to the room's stream
/// (<c>ferry:CLUSTER:s:ROOM</c>, trimmed to about 10,000 entries for chat, 1,000 pieces of at most
/// 64 KiB for the broker) and publishes it with its stream
/// ID on the room's channel (<c>ferry:CLUSTER:c:ROOM</c>). Every node takes the channel's lines
/// for the rooms it has members in and hands them to its members' queues (bench/RESULTS.md round
/// 10 says why: pub/sub's latency, and a stream to resume from).
/// </summary>
/// <remarks>
/// <para>Nothing is lost silently. While Redis is unreachable, members are told once, lines keep
/// reaching this node's members and wait (at most 10,000 lines or 16 MiB, the oldest dropped and
/// counted past that) to be sent when Redis is back. Then each room's stream is read from where it
/// was last read without a hole, so lines another node published while this one could not hear
/// are delivered late rather than never. Each line carries its sender node and a per-room
/// sequence number: a repeat is dropped; a live line that skips some of its sender's lines waits
/// for the stream to be read (the missing ones come first); a hole the stream cannot fill is
/// counted and told ("* N lines from other servers were lost").</para>
/// <para>One loop sends (so one node's lines keep their order) and one loop receives (so live
/// lines and caught-up ones are taken in stream order, each once).</para>
/// </remarks>
internal sealed partial class RedisRoomDelivery : IRoomDelivery, IAsyncDisposable
{
    private const string AppendAndPublish = """
        local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'd', ARGV[1])
        redis.call('PEXPIRE', KEYS[1], 86400000)
        redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[1])
        return id
        """;

    private static readonly TimeSpan CatchUpInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(250);
    private const int CatchUpPage = 500;

    /// <summary>A stream entry holds at most this much; a longer message (a broker's read) goes as several, in order.</summary>
    public const int MaxPiece = 64 * 1024;

    private readonly LocalRoomDelivery _local = new();
    private readonly BackplaneOptions _options;
    private readonly ILogger _logger;
    private readonly Func<string, byte[]>? _notice;
    private readonly string _node = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
    private readonly string _prefix;
    private readonly Lock _gate = new();
    private readonly LinkedList<Outgoing> _outbox = new();
    private readonly SemaphoreSlim _outboxSignal = new(0);
    private readonly Dictionary<string, long> _sentSequence = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _joined = new(StringComparer.Ordinal);
    private readonly Channel<Incoming> _inbox = Channel.CreateUnbounded<Incoming>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _connecting;
    private readonly Task _sending;
    private readonly Task _receiving;

    // Only the receiving loop touches these: per room with members here, where its stream has
    // been read to without a hole, and each sender's last sequence number taken.
    private readonly Dictionary<string, RoomReading> _rooms = new(StringComparer.Ordinal);

    /// <summary>
    /// True while pub/sub has brought every line since the last catch-up: a live line then moves
    /// the rooms' resume IDs on. A lost connection clears it until the next catch-up.
    /// </summary>
    private bool _continuous;

    /// <summary>A catch-up marker waits in the inbox: one is enough.</summary>
    private int _catchUpQueued;

    /// <summary>Redis's clock minus ours, in ms, measured at connect: where a newly joined room starts reading.</summary>
    private long _clockOffset;

    private ConnectionMultiplexer? _redis;
    private string _startId = "0-0";
    private volatile bool _up;
    private volatile string? _lastError;
    private int _episodeLogged;

    /// <summary>Members were told the other servers are unreachable: they are told when they are back.</summary>
    private int _membersTold;
    private long _bufferedBytes;
    private long _dropped;
    private long _lost;

    private readonly int _streamLength;

    /// <param name="notice">How a notice for members is written (chat: a "* ..." line); null: members are never told (broker: raw bytes).</param>
    /// <param name="streamLength">Entries each room's stream keeps, about (chat: 10,000 lines; broker: 1,000 pieces of at most 64 KiB).</param>
    public RedisRoomDelivery(BackplaneOptions options, ILogger logger, Func<string, byte[]>? notice, int streamLength = 10_000)
    {
        _streamLength = streamLength;
        _options = options;
        _logger = logger;
        _notice = notice;
        _prefix = $"ferry:{options.Cluster}:";
        _connecting = ConnectAsync();
        _sending = SendAsync();
        _receiving = ReceiveAsync();
    }

    /// <summary>This ferryd's id in the hub: 12 hex digits, new at every start.</summary>
    public string Node => _node;

    /// <summary>The hub's keys and channels begin with this: "ferry:CLUSTER:".</summary>
    public string Prefix => _prefix;

    public bool IsUp => _up;

    /// <summary>The connection (null until the first attempt), shared with the hub's presence.</summary>
    public ConnectionMultiplexer? Redis => _redis;

    public string Description => _options.ToString();

    /// <summary>Four characters of this node's id: what tells its guests from other nodes'.</summary>
    public string NodeTag => _node[..4];

    public long MessagesPublished => _local.MessagesPublished;

    public long BytesQueued => _local.BytesQueued;

    /// <summary>The backplane's state for "ferryd status" and the metrics.</summary>
    public BackplaneState State
    {
        get
        {
            lock (_gate)
                return new BackplaneState(_options.ToString(), _up, _lastError, _outbox.Count, Interlocked.Read(ref _dropped), Interlocked.Read(ref _lost));
        }
    }

    public void Join(string room, OutboundQueue member)
    {
        _local.Join(room, member);
        lock (_gate)
            _joined[room] = _joined.GetValueOrDefault(room) + 1;
    }

    public void Leave(string room, OutboundQueue member)
    {
        _local.Leave(room, member);
        lock (_gate)
        {
            if (_joined.TryGetValue(room, out int count) && count > 1)
                _joined[room] = count - 1;
            else
                _joined.Remove(room);
        }
    }

    public IReadOnlyList<OutboundQueue> Members(string room) => _local.Members(room);

    public void Publish(string room, ReadOnlyMemory<byte> message, OutboundQueue? sender)
    {
        _local.Publish(room, message, sender);
        lock (_gate)
        {
            int start = 0;
            do
            {
                var piece = message.Slice(start, Math.Min(MaxPiece, message.Length - start));
                long sequence = _sentSequence[room] = _sentSequence.GetValueOrDefault(room) + 1;
                var outgoing = new Outgoing(room, Wrap(sequence, piece.Span));
                _outbox.AddLast(outgoing);
                _bufferedBytes += outgoing.Envelope.Length;
                start += MaxPiece;
            }
            while (start < message.Length);
            // Past the bound the oldest go: the other nodes will count them as lost (a gap in the sequence).
            while (_outbox.Count > BackplaneOptions.MaxBufferedLines || _bufferedBytes > BackplaneOptions.MaxBufferedBytes)
            {
                _bufferedBytes -= _outbox.First!.Value.Envelope.Length;
                _outbox.RemoveFirst();
                Interlocked.Increment(ref _dropped);
            }
        }
        // One waiting wake-up is enough: the sender takes everything there is.
        if (_outboxSignal.CurrentCount == 0)
            _outboxSignal.Release();
    }

    /// <summary>"NODE SEQUENCE " and the line: who said it, and its place among that node's lines in the room.</summary>
    private byte[] Wrap(long sequence, ReadOnlySpan<byte> line)
    {
        string head = $"{_node} {sequence.ToString(CultureInfo.InvariantCulture)} ";
        var envelope = new byte[head.Length + line.Length];
        Encoding.ASCII.GetBytes(head, envelope);
        line.CopyTo(envelope.AsSpan(head.Length));
        return envelope;
    }

    private async Task ConnectAsync()
    {
        // With AbortOnConnectFail off, this returns while Redis is still away and connects in the background.
        var redis = await ConnectionMultiplexer.ConnectAsync(_options.Configuration);
        redis.ConnectionFailed += (_, e) => WentDown(e.Exception?.GetBaseException().Message ?? e.FailureType.ToString());
        redis.ConnectionRestored += (_, _) => _ = CameBackAsync();
        _redis = redis;
        bool subscribed = false;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                // Once: the client subscribes again by itself after every reconnect.
                if (!subscribed)
                {
                    var queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Pattern(_prefix + "c:*"));
                    queue.OnMessage(Heard);
                    subscribed = true;
                }
                long milliseconds = await RedisClock.NowAsync(redis.GetDatabase());
                _clockOffset = milliseconds - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                _startId = $"{milliseconds}-0";
                CameUp();
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                WentDown(ex.GetBaseException().Message);
                await PauseAsync(TimeSpan.FromSeconds(1));
            }
        }
    }

    private void Heard(ChannelMessage message)
    {
        string channel = message.Channel.ToString();
        string room = channel[(_prefix.Length + 2)..];
        byte[] body = (byte[])message.Message!;
        int space = Array.IndexOf(body, (byte)' ');
        if (space <= 0)
            return;
        _inbox.Writer.TryWrite(new Incoming(room, Encoding.ASCII.GetString(body, 0, space), body.AsMemory(space + 1)));
    }

    private async Task CameBackAsync()
    {
        // Let the subscription come back too before reading what was missed.
        await PauseAsync(TimeSpan.FromMilliseconds(200));
        if (_redis?.IsConnected == true)
            CameUp();
    }

    private void CameUp()
    {
        _up = true;
        if (_outboxSignal.CurrentCount == 0)
            _outboxSignal.Release();
        RequestCatchUp();
        if (Interlocked.Exchange(ref _episodeLogged, 0) == 1)
        {
            int buffered;
            lock (_gate)
                buffered = _outbox.Count;
            Reconnected(_logger, _options.ToString(), buffered);
        }
        if (Interlocked.Exchange(ref _membersTold, 0) == 1)
            Tell("other servers reachable again");
    }

    /// <summary>Logged and told once per episode: the first failure after Redis was reachable (or at start).</summary>
    private void WentDown(string error)
    {
        _lastError = error;
        bool wasUp = _up;
        _up = false;
        _inbox.Writer.TryWrite(Incoming.Interrupted);
        if (Interlocked.Exchange(ref _episodeLogged, 1) == 0)
            Unreachable(_logger, _options.ToString(), error);
        if (wasUp && Interlocked.Exchange(ref _membersTold, 1) == 0)
            Tell("other servers unreachable; your messages reach this server only");
    }

    /// <summary>A notice for every member of this node (chat only).</summary>
    private void Tell(string text)
    {
        if (_notice is null)
            return;
        string[] rooms;
        lock (_gate)
            rooms = [.. _joined.Keys];
        byte[] line = _notice(text);
        foreach (string room in rooms)
            _local.Publish(room, line, null);
    }

    private async Task SendAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _outboxSignal.WaitAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            while (true)
            {
                Outgoing next;
                lock (_gate)
                {
                    if (_outbox.First is null)
                        break;
                    next = _outbox.First.Value;
                }
                if (!await TrySendAsync(next))
                {
                    if (_stop.IsCancellationRequested)
                        return;
                    await PauseAsync(RetryPause);
                    continue;
                }
                lock (_gate)
                {
                    // It may have been dropped meanwhile as the oldest over the bound.
                    if (_outbox.First is { } first && ReferenceEquals(first.Value, next))
                    {
                        _outbox.RemoveFirst();
                        _bufferedBytes -= next.Envelope.Length;
                    }
                }
            }
        }
    }

    private async Task<bool> TrySendAsync(Outgoing line)
    {
        if (!_up || _redis is not { } redis)
            return false;
        try
        {
            await redis.GetDatabase().ScriptEvaluateAsync(AppendAndPublish,
                [_prefix + "s:" + line.Room, _prefix + "c:" + line.Room], [line.Envelope, _streamLength]);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Sent twice if it timed out after Redis took it: receivers drop the repeat by its sequence.
            // A command refused on a live connection (Redis out of memory, busy) is retried; only
            // a lost connection (ConnectionFailed) takes the backplane down.
            if (redis.IsConnected)
                _lastError = ex.GetBaseException().Message;
            else
                WentDown(ex.GetBaseException().Message);
            return false;
        }
    }

    private async Task ReceiveAsync()
    {
        using var timer = new PeriodicTimer(CatchUpInterval);
        var ticking = TickAsync(timer);
        try
        {
            await foreach (var incoming in _inbox.Reader.ReadAllAsync(_stop.Token))
            {
                try
                {
                    if (ReferenceEquals(incoming, Incoming.CatchUp))
                    {
                        Volatile.Write(ref _catchUpQueued, 0);
                        await CatchUpAsync();
                    }
                    else if (ReferenceEquals(incoming, Incoming.Interrupted))
                        _continuous = false;
                    else
                        TakeLive(incoming.Room, incoming.Id, incoming.Envelope);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One bad line must not stop the hub's delivery.
                    ReceiveFailed(_logger, _options.ToString(), ex.GetBaseException().Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        await ticking;
    }

    private async Task TickAsync(PeriodicTimer timer)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                // Only after an interruption: while pub/sub holds, it brings every line.
                if (_up && !_continuous)
                    RequestCatchUp();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void RequestCatchUp()
    {
        if (Interlocked.Exchange(ref _catchUpQueued, 1) == 0)
            _inbox.Writer.TryWrite(Incoming.CatchUp);
    }

    /// <summary>The reading of a room that has members here, made when the first one joins (it reads from then on).</summary>
    private RoomReading? ReadingOf(string room)
    {
        if (_rooms.TryGetValue(room, out var reading))
            return reading;
        bool joined;
        lock (_gate)
            joined = _joined.ContainsKey(room);
        if (!joined)
            return null;
        // A room joined now reads from now: its members never get lines said before they came.
        reading = new RoomReading
        {
            ResumeAfter = _startId == "0-0" ? null : $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + _clockOffset}-0",
        };
        _rooms[room] = reading;
        return reading;
    }

    /// <summary>Forgets rooms nobody here is in any more: their state would only grow.</summary>
    private void ForgetLeftRooms()
    {
        lock (_gate)
        {
            foreach (string room in _rooms.Keys.Where(r => !_joined.ContainsKey(r)).ToList())
                _rooms.Remove(room);
        }
    }

    /// <summary>A line from pub/sub: taken at once when it follows its sender's last; otherwise the stream is read first.</summary>
    private void TakeLive(string room, string id, ReadOnlyMemory<byte> envelope)
    {
        var reading = ReadingOf(room);
        if (reading is null)
            return;
        if (!Envelope.TryParse(envelope, out var line) || line.Node == _node)
        {
            if (_continuous)
                reading.ResumeAfter = id;
            return;
        }
        long? previous = reading.LastSequence.TryGetValue(line.Node, out long last) ? last : null;
        if (previous is long known && line.Sequence <= known)
            return;
        bool follows = previous is long before ? line.Sequence == before + 1 : _continuous;
        if (!follows)
        {
            // Lines of this sender are missing here: they are in the stream, before this one.
            _continuous = false;
            RequestCatchUp();
            return;
        }
        reading.LastSequence[line.Node] = line.Sequence;
        if (_continuous)
            reading.ResumeAfter = id;
        _local.Publish(room, line.Text, null);
    }

    /// <summary>Every room with members here, read from its stream where it was last read without a hole.</summary>
    private async Task CatchUpAsync()
    {
        if (_redis is not { } redis || _startId == "0-0")
            return;
        ForgetLeftRooms();
        string[] rooms;
        lock (_gate)
            rooms = [.. _joined.Keys];
        var database = redis.GetDatabase();
        foreach (string room in rooms)
        {
            var reading = ReadingOf(room);
            if (reading is null)
                continue;
            while (!_stop.IsCancellationRequested)
            {
                string after = reading.ResumeAfter ?? _startId;
                StreamEntry[] entries;
                try
                {
                    entries = await database.StreamRangeAsync(_prefix + "s:" + room, "(" + after, "+", CatchUpPage);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    return;
                }
                foreach (var entry in entries)
                {
                    reading.ResumeAfter = entry.Id.ToString();
                    TakeFromStream(room, reading, (byte[])entry["d"]!);
                }
                if (entries.Length < CatchUpPage)
                    break;
            }
        }
        _continuous = _up;
    }

    /// <summary>A line read from the stream, in stream order: each sender's in its order, repeats dropped, holes counted and told.</summary>
    private void TakeFromStream(string room, RoomReading reading, ReadOnlyMemory<byte> envelope)
    {
        if (!Envelope.TryParse(envelope, out var line) || line.Node == _node)
            return;
        if (reading.LastSequence.TryGetValue(line.Node, out long previous))
        {
            if (line.Sequence <= previous)
                return;
            if (line.Sequence > previous + 1)
            {
                long missing = line.Sequence - previous - 1;
                Interlocked.Add(ref _lost, missing);
                LinesLost(_logger, _options.ToString(), missing, room);
                if (_notice is not null)
                    _local.Publish(room, _notice($"{missing} lines from other servers were lost"), null);
            }
        }
        reading.LastSequence[line.Node] = line.Sequence;
        _local.Publish(room, line.Text, null);
    }

    private async Task PauseAsync(TimeSpan pause)
    {
        try
        {
            await Task.Delay(pause, _stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        // What members said last still goes out, if Redis takes it within a moment.
        for (int wait = 0; wait < 20 && _up && State.BufferedLines > 0; wait++)
            await Task.Delay(50);
        await _stop.CancelAsync();
        _inbox.Writer.TryComplete();
        await Task.WhenAll(_connecting, _sending, _receiving);
        if (State.BufferedLines is > 0 and int left)
            NotShared(_logger, _options.ToString(), left);
        if (_redis is not null)
            await _redis.DisposeAsync();
        _stop.Dispose();
        _outboxSignal.Dispose();
    }

    private sealed record Outgoing(string Room, byte[] Envelope);

    private sealed record Incoming(string Room, string Id, ReadOnlyMemory<byte> Envelope)
    {
        public static readonly Incoming CatchUp = new("", "", ReadOnlyMemory<byte>.Empty);

        /// <summary>The connection was lost: live lines no longer prove the stream was read without a hole.</summary>
        public static readonly Incoming Interrupted = new("", "", ReadOnlyMemory<byte>.Empty);
    }

    private sealed class RoomReading
    {
        /// <summary>The stream has been taken without a hole up to this ID (null: from when this node connected).</summary>
        public string? ResumeAfter { get; set; }

        public Dictionary<string, long> LastSequence { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>A line as it travels: "NODE SEQUENCE " and its bytes.</summary>
    private readonly record struct Envelope(string Node, long Sequence, ReadOnlyMemory<byte> Text)
    {
        public static bool TryParse(ReadOnlyMemory<byte> envelope, out Envelope line)
        {
            line = default;
            var span = envelope.Span;
            int first = span.IndexOf((byte)' ');
            int second = first < 0 ? -1 : span[(first + 1)..].IndexOf((byte)' ');
            if (second < 0 || !long.TryParse(span.Slice(first + 1, second), NumberStyles.None, CultureInfo.InvariantCulture, out long sequence))
                return false;
            line = new Envelope(Encoding.ASCII.GetString(span[..first]), sequence, envelope[(first + 1 + second + 1)..]);
            return true;
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning,
        Message = "backplane {Backplane}: unreachable ({Error}); members' lines reach this server only and wait for Redis")]
    private static partial void Unreachable(ILogger logger, string backplane, string error);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "backplane {Backplane}: connected again; {Buffered} waiting lines are sent")]
    private static partial void Reconnected(ILogger logger, string backplane, int buffered);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "backplane {Backplane}: {Count} lines of other servers in #{Room} were lost")]
    private static partial void LinesLost(ILogger logger, string backplane, long count, string room);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "backplane {Backplane}: a line from Redis could not be taken: {Reason}")]
    private static partial void ReceiveFailed(ILogger logger, string backplane, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "backplane {Backplane}: stopping with {Count} lines never sent to Redis")]
    private static partial void NotShared(ILogger logger, string backplane, int count);
}

/// <summary>The backplane of a listener as "ferryd status" shows it.</summary>
internal sealed record BackplaneState(string Redis, bool Connected, string? LastError, int BufferedLines, long DroppedLines, long LostLines);

/// <summary>Orders Redis stream IDs ("1700000000000-3") by their two numbers.</summary>
internal static class StreamIdComparer
{
    public static int Compare(string a, string b)
    {
        var (aTime, aSequence) = Split(a);
        var (bTime, bSequence) = Split(b);
        int byTime = aTime.CompareTo(bTime);
        return byTime != 0 ? byTime : aSequence.CompareTo(bSequence);
    }

    private static (long Time, long Sequence) Split(string id)
    {
        int dash = id.IndexOf('-');
        return dash < 0
            ? (long.Parse(id, CultureInfo.InvariantCulture), 0)
            : (long.Parse(id.AsSpan(0, dash), CultureInfo.InvariantCulture), long.Parse(id.AsSpan(dash + 1), CultureInfo.InvariantCulture));
    }
}
