// Measures one way of carrying chat lines between ferryd nodes through Redis: a sender (one
// multiplexer, as node A) publishes lines at a fixed rate round-robin over N rooms; a receiver
// (another multiplexer, as node B) takes them; each line carries its send time, so the receiver
// records the latency. Prints one JSON line: latency percentiles, lines lost, and the CPU time
// of this process and of redis-server over the measured window.
//
//   backplane-probe --port P --redis-pid PID --mode pubsub|xadd-publish|xread-poll
//                   [--rate 1000] [--seconds 10] [--rooms 1] [--size 64] [--poll-ms 10]
//
// pubsub:        PUBLISH ferry:c:ROOM line                 (at most once; nothing kept)
// xadd-publish:  one script: XADD ferry:s:ROOM MAXLEN ~ 10000 * d line, then PUBLISH
//                ferry:c:ROOM id+line; the receiver takes the line from the channel (the stream
//                is there to catch up from after an outage)
// xread-poll:    XADD only; the receiver polls XREAD over every room's stream each poll-ms
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HdrHistogram;
using StackExchange.Redis;

var options = Args.Parse(args);
string endpoint = $"127.0.0.1:{options.Port}";
var config = ConfigurationOptions.Parse(endpoint);
config.AbortOnConnectFail = true;
using var sender = await ConnectionMultiplexer.ConnectAsync(config);
using var receiver = await ConnectionMultiplexer.ConnectAsync(config);
var senderDb = sender.GetDatabase();
var receiverDb = receiver.GetDatabase();
string[] rooms = [.. Enumerable.Range(0, options.Rooms).Select(i => $"room{i}")];
foreach (string room in rooms)
    await senderDb.KeyDeleteAsync($"ferry:s:{room}");

var latency = new LongHistogram(TimeStamp.Seconds(10), 3);
long received = 0;
var gate = new Lock();
void Received(ReadOnlySpan<byte> line)
{
    long sent = BitConverter.ToInt64(line);
    long micros = (Stopwatch.GetTimestamp() - sent) * 1_000_000 / Stopwatch.Frequency;
    lock (gate)
    {
        latency.RecordValue(Math.Max(0, micros));
        received++;
    }
}

const string AddAndPublish = """
    local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', '10000', '*', 'd', ARGV[1])
    redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[1])
    return id
    """;

using var stop = new CancellationTokenSource();
Task receiving = Task.CompletedTask;
switch (options.Mode)
{
    case "pubsub":
    case "xadd-publish":
    {
        var queue = await receiver.GetSubscriber().SubscribeAsync(RedisChannel.Pattern("ferry:c:*"));
        bool withId = options.Mode == "xadd-publish";
        queue.OnMessage(message =>
        {
            byte[] body = (byte[])message.Message!;
            int start = withId ? Array.IndexOf(body, (byte)' ') + 1 : 0;
            Received(body.AsSpan(start));
        });
        break;
    }
    case "xread-poll":
        receiving = Task.Run(async () =>
        {
            var positions = rooms.Select(r => new StreamPosition($"ferry:s:{r}", "0-0")).ToArray();
            while (!stop.IsCancellationRequested)
            {
                var streams = await receiverDb.StreamReadAsync(positions, countPerStream: 1000);
                foreach (var stream in streams)
                {
                    int index = Array.FindIndex(positions, p => p.Key == stream.Key);
                    foreach (var entry in stream.Entries)
                    {
                        Received((byte[])entry.Values[0].Value!);
                        positions[index] = new StreamPosition(stream.Key, entry.Id);
                    }
                }
                try
                {
                    await Task.Delay(options.PollMs, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
        break;
    default:
        throw new ArgumentException($"unknown mode {options.Mode}");
}

// Open loop at the given rate: a line is due every 1/rate s, whether the last was answered or not.
var cpuBefore = (Self: Cpu.Seconds(Environment.ProcessId), Redis: Cpu.Seconds(options.RedisPid));
var clock = Stopwatch.StartNew();
long total = (long)(options.Rate * options.Seconds);
var pending = new List<Task>();
var payload = new byte[Math.Max(8, options.Size)];
for (long i = 0; i < total; i++)
{
    var due = TimeSpan.FromSeconds(i / options.Rate);
    var wait = due - clock.Elapsed;
    if (wait > TimeSpan.FromMilliseconds(1))
        await Task.Delay(wait);
    string room = rooms[i % rooms.Length];
    BitConverter.TryWriteBytes(payload, Stopwatch.GetTimestamp());
    byte[] line = (byte[])payload.Clone();
    pending.Add(options.Mode switch
    {
        "pubsub" => senderDb.PublishAsync(RedisChannel.Literal($"ferry:c:{room}"), line),
        // The client sends the script once and EVALSHA after that.
        "xadd-publish" => senderDb.ScriptEvaluateAsync(AddAndPublish, [$"ferry:s:{room}", $"ferry:c:{room}"], [line]),
        _ => senderDb.StreamAddAsync($"ferry:s:{room}", "d", line, maxLength: 10000, useApproximateMaxLength: true),
    });
    if (pending.Count >= 1000)
    {
        await Task.WhenAll(pending);
        pending.Clear();
    }
}
await Task.WhenAll(pending);
var settleUntil = Stopwatch.StartNew();
while (Interlocked.Read(ref received) < total && settleUntil.Elapsed < TimeSpan.FromSeconds(5))
    await Task.Delay(10);
double window = clock.Elapsed.TotalSeconds;
var cpuAfter = (Self: Cpu.Seconds(Environment.ProcessId), Redis: Cpu.Seconds(options.RedisPid));
await stop.CancelAsync();
await receiving;

var report = new Dictionary<string, object>
{
    ["mode"] = options.Mode,
    ["rooms"] = options.Rooms,
    ["rate"] = options.Rate,
    ["sent"] = total,
    ["received"] = received,
    ["p50Us"] = latency.GetValueAtPercentile(50),
    ["p99Us"] = latency.GetValueAtPercentile(99),
    ["maxUs"] = latency.GetMaxValue(),
    ["probeCpuPct"] = Math.Round(100 * (cpuAfter.Self - cpuBefore.Self) / window, 1),
    ["redisCpuPct"] = Math.Round(100 * (cpuAfter.Redis - cpuBefore.Redis) / window, 1),
};
Console.WriteLine(JsonSerializer.Serialize(report));

internal sealed record Args(int Port, int RedisPid, string Mode, double Rate, double Seconds, int Rooms, int Size, int PollMs)
{
    public static Args Parse(string[] args)
    {
        string Get(string name, string? fallback = null)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"{name} is required");
        }
        int Int(string name, string? fallback = null) => int.Parse(Get(name, fallback), CultureInfo.InvariantCulture);
        double Double(string name, string fallback) => double.Parse(Get(name, fallback), CultureInfo.InvariantCulture);
        return new Args(Int("--port"), Int("--redis-pid"), Get("--mode"), Double("--rate", "1000"), Double("--seconds", "10"),
            Int("--rooms", "1"), Int("--size", "64"), Int("--poll-ms", "10"));
    }
}

internal static class Cpu
{
    /// <summary>utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15, in clock ticks).</summary>
    public static double Seconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }
}
