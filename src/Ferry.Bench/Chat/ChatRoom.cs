using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Ferry.Bench.Async;
using Ferry.Client;

namespace Ferry.Bench.Chat;

/// <summary>
/// Chat mode: every connection is a member of one room on a ferryd chat listener. Closed loop,
/// each member sends a line, waits until the next member has received it, and sends the next
/// (a window of one line per sender, so the server is loaded by fan-out, not by unbounded
/// queues). Open loop (a rate per member), each member sends on its own schedule whatever the
/// room does, and a line carries its intended send time, so a sender held up by a full socket
/// is charged for every line it sends late (no coordinated omission). Every member checks every
/// line it receives from every other member: all bytes, and the sender's sequence (nothing
/// lost, repeated or reordered). A delivery is one line arriving at one member; its latency
/// runs from the time the line carries (its send, or its intended send) to the receiver's read.
/// </summary>
internal sealed class ChatRoom
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);
    private const int ReceiveBufferSize = 64 * 1024;
    private const string JoinCommand = "/join ";

    private readonly Socket[] _members;
    private readonly int _size;
    private readonly BenchPhase _phase;
    private readonly ConnectionTally[] _tallies;
    private readonly SemaphoreSlim[] _credits;
    private readonly long[] _sent;
    private readonly long[][] _nextExpected;
    private readonly double? _ratePerMember;

    /// <param name="ratePerMember">Lines per second each member sends on schedule (open loop), or null for closed loop.</param>
    public ChatRoom(Socket[] members, int size, BenchPhase phase, ConnectionTally[] tallies, double? ratePerMember)
    {
        _ratePerMember = ratePerMember;
        _members = members;
        _size = size;
        _phase = phase;
        _tallies = tallies;
        _credits = members.Select(_ => new SemaphoreSlim(0)).ToArray();
        _sent = new long[members.Length];
        _nextExpected = members.Select(_ => new long[members.Length]).ToArray();
    }

    /// <summary>A room name of this run's own, so runs never meet each other's members.</summary>
    public static string NewRoomName() => $"bench-{Environment.ProcessId}-{Random.Shared.Next(1_000_000)}";

    /// <summary>Moves every member into <paramref name="room"/>, one at a time, each confirmed by the server.</summary>
    public async Task JoinAsync(string room, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(JoinTimeout);
        byte[] command = Encoding.ASCII.GetBytes($"{JoinCommand}{room}\n");
        var buffer = new byte[ReceiveBufferSize];
        try
        {
            foreach (Socket member in _members)
                await JoinOneAsync(member, command, room, buffer, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw NotAChatListener();
        }
    }

    private static async Task JoinOneAsync(Socket member, byte[] command, string room, byte[] buffer, CancellationToken cancellationToken)
    {
        await BenchSocket.SendAllAsync(member, command, cancellationToken);
        // Lines before the confirmation (the lobby welcome, others joining) are skipped.
        int filled = 0;
        int lineStart = 0;
        while (true)
        {
            int n = await member.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancellationToken);
            if (n == 0)
                throw new CommandFailedException("chat: the server closed a connection while joining; is this a chat listener?");
            filled += n;
            int newline;
            while ((newline = buffer.AsSpan(lineStart, filled - lineStart).IndexOf((byte)'\n')) >= 0)
            {
                string line = Encoding.UTF8.GetString(buffer, lineStart, newline);
                lineStart += newline + 1;
                if (ChatWire.TryReadEnteredRoom(line, out _, out string entered) && entered == room)
                    return;
                // An echo server sends the command back; anything else unconfirmed times out.
                if (line.StartsWith(JoinCommand, StringComparison.Ordinal))
                    throw NotAChatListener();
            }
            if (filled == buffer.Length)
                throw NotAChatListener();
        }
    }

    private static CommandFailedException NotAChatListener() =>
        new("chat: the server did not confirm /join; is this a chat listener?");

    /// <summary>Runs senders and receivers until the phase stops and every line sent has reached every member (or the drain time is up).</summary>
    public async Task RunAsync(CancellationToken deadline)
    {
        Task[] receivers = Enumerable.Range(0, _members.Length).Select(j => ReceiveAsync(j, deadline)).ToArray();
        long firstSend = Stopwatch.GetTimestamp();
        Task[] senders = Enumerable.Range(0, _members.Length)
            .Select(i => _ratePerMember is double rate
                ? SendOnScheduleAsync(i, SendSchedule.Staggered(firstSend, rate, i, _members.Length), deadline)
                : SendAsync(i, deadline))
            .ToArray();
        await Task.WhenAll(senders);
        await DrainAsync(deadline);
        foreach (Socket member in _members)
            member.Shutdown(SocketShutdown.Both);
        await Task.WhenAll(receivers);
    }

    private async Task SendAsync(int sender, CancellationToken deadline)
    {
        var line = new byte[ChatBenchLine.MaxLength(_size)];
        try
        {
            for (long sequence = 0; !_phase.Stopping; sequence++)
            {
                int length = ChatBenchLine.Write(line, sender, sequence, Stopwatch.GetTimestamp(), _size);
                await BenchSocket.SendAllAsync(_members[sender], line.AsMemory(0, length), deadline);
                Volatile.Write(ref _sent[sender], sequence + 1);
                // The window: the next line leaves once the observing member has this one.
                await _credits[sender].WaitAsync(deadline);
            }
        }
        catch (SocketException exception)
        {
            _tallies[sender].CountError(BenchSocket.Describe(exception));
        }
        catch (OperationCanceledException)
        {
            _tallies[sender].CountError("a line was not delivered before the run's deadline");
        }
    }

    /// <summary>Open loop: each line leaves at its intended time (or as soon as the socket takes it, when behind) and carries that time.</summary>
    private async Task SendOnScheduleAsync(int sender, SendSchedule schedule, CancellationToken deadline)
    {
        var line = new byte[ChatBenchLine.MaxLength(_size)];
        try
        {
            for (long sequence = 0; !_phase.Stopping; sequence++)
            {
                long intended = schedule.TakeNext();
                await SendSchedule.WaitUntilAsync(intended, _phase, deadline);
                if (_phase.Stopping)
                    break;
                // The earlier of intended and actual: waking early never flatters the server.
                long sentAt = Math.Min(intended, Stopwatch.GetTimestamp());
                int length = ChatBenchLine.Write(line, sender, sequence, sentAt, _size);
                await BenchSocket.SendAllAsync(_members[sender], line.AsMemory(0, length), deadline);
                Volatile.Write(ref _sent[sender], sequence + 1);
            }
        }
        catch (SocketException exception)
        {
            _tallies[sender].CountError(BenchSocket.Describe(exception));
        }
        catch (OperationCanceledException)
        {
            _tallies[sender].CountError("a line could not be sent before the run's deadline");
        }
    }

    private async Task ReceiveAsync(int receiver, CancellationToken deadline)
    {
        var buffer = new byte[ReceiveBufferSize];
        var scratch = new byte[ChatBenchLine.MaxLength(_size)];
        ConnectionTally tally = _tallies[receiver];
        long[] nextExpected = _nextExpected[receiver];
        int filled = 0;
        try
        {
            while (true)
            {
                int n = await _members[receiver].ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, deadline);
                if (n == 0)
                {
                    if (!_phase.Stopping)
                        tally.CountError("server closed a member's connection");
                    return;
                }
                filled += n;
                int consumed = 0;
                int newline;
                while ((newline = buffer.AsSpan(consumed, filled - consumed).IndexOf((byte)'\n')) >= 0)
                {
                    OnLine(receiver, buffer.AsSpan(consumed, newline), scratch, tally, nextExpected);
                    consumed += newline + 1;
                }
                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
                if (filled == buffer.Length)
                {
                    tally.CountError("a line longer than the receive buffer");
                    return;
                }
            }
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            if (!_phase.Stopping)
                tally.CountError(exception is SocketException socketException ? BenchSocket.Describe(socketException) : "receive cancelled");
        }
    }

    private void OnLine(int receiver, ReadOnlySpan<byte> line, Span<byte> scratch, ConnectionTally tally, long[] nextExpected)
    {
        long now = Stopwatch.GetTimestamp();
        if (ChatWire.IsNotice(line))
            return; // joins, leaves
        if (ChatWire.IsError(line))
        {
            tally.CountError($"server said: {Encoding.ASCII.GetString(line[..Math.Min(line.Length, 120)])}");
            return;
        }
        int textStart = ChatWire.MessageTextStart(line);
        if (textStart < 0
            || !ChatBenchLine.TryRead(line[textStart..], _size, scratch, out int sender, out long sequence, out long sent, out bool intact)
            || sender < 0 || sender >= _members.Length || sender == receiver)
        {
            tally.CountError("a line that no member sent");
            return;
        }
        if (sequence != nextExpected[sender])
            tally.CountError($"member {sender}'s line {sequence} arrived when {nextExpected[sender]} was due");
        Volatile.Write(ref nextExpected[sender], sequence + 1);
        tally.CountEcho(line.Length + 1, intact ? 0 : 1, sent, now, _phase);
        // Open loop has no window: nobody waits for the credit.
        if (_ratePerMember is null && Observer(sender) == receiver)
            _credits[sender].Release();
    }

    /// <summary>The member whose receipt of a sender's line lets that sender send the next one.</summary>
    private int Observer(int sender) => (sender + 1) % _members.Length;

    /// <summary>Waits until every member has every line sent; counts what never arrives.</summary>
    private async Task DrainAsync(CancellationToken deadline)
    {
        long giveUp = Stopwatch.GetTimestamp() + (long)(DrainTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Missing() > 0 && Stopwatch.GetTimestamp() < giveUp && !deadline.IsCancellationRequested)
            await Task.Delay(10, CancellationToken.None);
        long missing = Missing();
        if (missing > 0)
        {
            // Open loop past the room's capacity leaves a backlog that outlasts the drain.
            _tallies[0].CountError(_ratePerMember is null
                ? $"{missing} line deliveries never arrived"
                : $"{missing} line deliveries had not arrived {DrainTimeout.TotalSeconds:0} s after the run (is the offered rate above what the room delivers?)");
        }
    }

    private long Missing()
    {
        long missing = 0;
        for (int receiver = 0; receiver < _members.Length; receiver++)
        {
            for (int sender = 0; sender < _members.Length; sender++)
            {
                if (sender != receiver)
                    missing += Volatile.Read(ref _sent[sender]) - Volatile.Read(ref _nextExpected[receiver][sender]);
            }
        }
        return missing;
    }
}
