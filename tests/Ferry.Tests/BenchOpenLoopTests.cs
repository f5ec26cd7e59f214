using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using HdrHistogram;

namespace Ferry.Tests;

/// <summary>
/// ferry bench's open loop (<c>--rate</c>): the schedule arithmetic, what a rate offers in each
/// mode, how the report shows it, and chat mode charging a stalled sender for every late line.
/// </summary>
public sealed class BenchOpenLoopTests
{
    private static readonly IPEndPoint Anywhere = new(IPAddress.Loopback, 7);

    [Fact]
    public void StaggeredSchedulesSpreadTheFirstSendsOverOneInterval()
    {
        long interval = Stopwatch.Frequency / 1000;

        for (int index = 0; index < 4; index++)
        {
            SendSchedule schedule = SendSchedule.Staggered(start: 1000, messagesPerSecond: 1000, index, count: 4);
            long first = schedule.TakeNext();
            Assert.Equal(1000 + interval * index / 4, first);
            Assert.Equal(first + interval, schedule.TakeNext());
        }
    }

    [Fact]
    public void StaggeringASlowRateOverManyConnectionsStaysWithinOneInterval()
    {
        // One message every 100,000 s: interval × index does not fit in a long.
        SendSchedule schedule = SendSchedule.Staggered(start: 5, messagesPerSecond: 1e-5, index: 99_999, count: 100_000);
        long interval = (long)(Stopwatch.Frequency / 1e-5);

        long first = schedule.TakeNext();

        Assert.InRange(first, 5 + interval / 2, 5 + interval);
    }

    [Theory]
    [InlineData("Chat", 1000, 10.0, 10.0, 9_990_000.0)] // the 1,000 members × 10 lines/s
    [InlineData("Chat", 5, 50.0, 50.0, 1000.0)]
    [InlineData("PingPong", 100, 20_000.0, 200.0, 20_000.0)]
    public void ARateIsPerMemberInChatAndInTotalInPingPong(
        string mode, int connections, double rate, double perConnection, double offered)
    {
        BenchSettings settings = Settings(Enum.Parse<BenchMode>(mode), connections, rate);

        Assert.Equal(perConnection, settings.RatePerConnection);
        Assert.Equal(offered, settings.OfferedMessagesPerSecond);
    }

    [Fact]
    public void ClosedLoopOffersNothing()
    {
        BenchSettings settings = Settings(BenchMode.Chat, 5, rate: null);

        Assert.Null(settings.RatePerConnection);
        Assert.Null(settings.OfferedMessagesPerSecond);
    }

    [Fact]
    public void TheReportsShowTheOfferedRateBesideTheAchievedOne()
    {
        var report = new BenchReport(Settings(BenchMode.Chat, 5, 50), TimeSpan.FromSeconds(2), 1900, 1900 * 65, 0, 0,
            null, null, null, null, null, 0, 0);
        var text = new StringWriter();
        using var json = new MemoryStream();

        BenchReportText.Write(text, report);
        BenchReportJson.Write(json, report);

        Assert.Contains("open loop at 50 lines/s per member", text.ToString());
        Assert.Contains("rate              950 msg/s of 1,000 offered", text.ToString());
        using JsonDocument document = JsonDocument.Parse(json.ToArray());
        Assert.Equal(1000, document.RootElement.GetProperty("offeredMessagesPerSecond").GetDouble());
        Assert.Equal(950, document.RootElement.GetProperty("messagesPerSecond").GetDouble());
        Assert.Equal(50, document.RootElement.GetProperty("rate").GetDouble());
    }

    [Fact]
    public void AClosedLoopReportHasNoOfferedRate()
    {
        var report = new BenchReport(Settings(BenchMode.Chat, 5, null), TimeSpan.FromSeconds(1), 100, 6500, 0, 0,
            null, null, null, null, null, 0, 0);
        var text = new StringWriter();
        using var json = new MemoryStream();

        BenchReportText.Write(text, report);
        BenchReportJson.Write(json, report);

        Assert.DoesNotContain("offered", text.ToString());
        using JsonDocument document = JsonDocument.Parse(json.ToArray());
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("offeredMessagesPerSecond").ValueKind);
    }

    [Fact]
    public async Task AWaitForAFarScheduleEndsWhenTheRunStops()
    {
        var phase = new BenchPhase();
        long inAMinute = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;

        Task waiting = SendSchedule.WaitUntilAsync(inAMinute, phase, TestContext.Current.CancellationToken).AsTask();
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.False(waiting.IsCompleted);
        phase.Stop();

        await waiting.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// The hub stops reading member 0 for 400 ms. Member 0's small socket buffers fill and its
    /// sends block, while its schedule (100 lines/s) goes on: the ~30 lines due in the first
    /// 300 ms of the stall must each be charged 100 ms or more, measured from their intended
    /// send times. Stamped with their actual (late) send times they would look fast, and a
    /// closed loop would not have sent them at all: either way only a handful would be slow.
    /// </summary>
    [Fact]
    public async Task OpenLoopChatChargesAStalledSenderForEveryLineItSendsLate()
    {
        const int Size = 4096;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Server.ReceiveBufferSize = Size; // inherited by accepted sockets
        listener.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        stop.CancelAfter(TimeSpan.FromSeconds(30));
        var hub = new StallingHub(listener, members: 2, stalledMember: 0, stallAfterLines: 10, TimeSpan.FromMilliseconds(400));
        Task hubRun = hub.RunAsync(stop.Token);

        var members = new Socket[2];
        for (int i = 0; i < members.Length; i++)
        {
            members[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendBufferSize = Size };
            await members[i].ConnectAsync((IPEndPoint)listener.LocalEndpoint, stop.Token);
        }
        var phase = new BenchPhase();
        ConnectionTally[] tallies = [new(recordsLatency: true), new(recordsLatency: true)];
        var room = new ChatRoom(members, Size, phase, tallies, ratePerMember: 100);
        try
        {
            await room.JoinAsync("r", stop.Token);
            phase.BeginMeasuring();
            Task run = room.RunAsync(stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(1.5), stop.Token);
            phase.Stop();
            await run;
        }
        finally
        {
            foreach (Socket member in members)
                member.Dispose();
            await stop.CancelAsync();
            await hubRun;
        }

        Assert.True(hub.Stalled, "the hub never stalled member 0");
        Assert.Equal(0, tallies[0].Errors + tallies[1].Errors);
        // Member 1 receives member 0's lines, the stalled ones among them.
        long slow = CountAtOrAbove(tallies[1].Latency!, TimeSpan.FromMilliseconds(100));
        Assert.True(slow >= 15, $"{slow} of {tallies[1].Latency!.TotalCount} deliveries took 100 ms or more");
    }

    private static long CountAtOrAbove(HistogramBase nanoseconds, TimeSpan threshold)
    {
        long thresholdNanoseconds = (long)(threshold.TotalMilliseconds * 1_000_000);
        return nanoseconds.RecordedValues()
            .Where(value => value.ValueIteratedTo >= thresholdNanoseconds)
            .Sum(value => value.CountAtValueIteratedTo);
    }

    private static BenchSettings Settings(BenchMode mode, int connections, double? rate) =>
        new("127.0.0.1", Anywhere, mode, connections, TimeSpan.FromSeconds(1), TimeSpan.Zero, 64, rate, null);

    /// <summary>
    /// A minimal chat hub for two members: confirms each /join, relays each member's lines to
    /// the other as <c>&lt;mN&gt; line</c>, and once stops reading one member for a while.
    /// </summary>
    private sealed class StallingHub(TcpListener listener, int members, int stalledMember, int stallAfterLines, TimeSpan stall)
    {
        private readonly Socket[] _joined = new Socket[members];

        public bool Stalled { get; private set; }

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var relays = new List<Task>();
            try
            {
                for (int i = 0; i < members; i++)
                {
                    _joined[i] = await listener.AcceptSocketAsync(cancellationToken);
                    relays.Add(RelayAsync(i, cancellationToken));
                }
                await Task.WhenAll(relays);
            }
            catch (OperationCanceledException)
            {
            }
            await Task.WhenAll(relays).ContinueWith(_ => { }, TaskScheduler.Default);
            foreach (Socket socket in _joined)
                socket?.Dispose();
        }

        private async Task RelayAsync(int member, CancellationToken cancellationToken)
        {
            Socket socket = _joined[member];
            var buffer = new byte[256 * 1024];
            int filled = 0;
            long lines = 0;
            byte[] prefix = Encoding.ASCII.GetBytes($"<m{member}> ");
            try
            {
                while (true)
                {
                    int n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancellationToken);
                    if (n == 0)
                        return;
                    filled += n;
                    int consumed = 0;
                    int newline;
                    while ((newline = buffer.AsSpan(consumed, filled - consumed).IndexOf((byte)'\n')) >= 0)
                    {
                        ReadOnlyMemory<byte> line = buffer.AsMemory(consumed, newline + 1);
                        if (line.Span.StartsWith("/join "u8))
                        {
                            string room = Encoding.ASCII.GetString(line.Span[6..^1]);
                            await SendAsync(socket, Encoding.ASCII.GetBytes($"* you are m{member} in #{room} (1 members)\n"), cancellationToken);
                        }
                        else
                        {
                            Socket other = _joined[1 - member];
                            byte[] relayed = [.. prefix, .. line.Span];
                            await SendAsync(other, relayed, cancellationToken);
                            lines++;
                        }
                        consumed += newline + 1;
                    }
                    buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                    filled -= consumed;
                    if (member == stalledMember && !Stalled && lines >= stallAfterLines)
                    {
                        Stalled = true;
                        await Task.Delay(stall, cancellationToken);
                    }
                }
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }

        private static async Task SendAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            while (!data.IsEmpty)
            {
                int sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
                data = data[sent..];
            }
        }
    }
}
