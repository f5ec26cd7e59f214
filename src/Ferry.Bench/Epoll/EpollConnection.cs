using System.Runtime.InteropServices;
using Ferry.Bench.Native;
using Ferry.Platform.Linux;

namespace Ferry.Bench.Epoll;

/// <summary>
/// One connection of the epoll engine: its non-blocking socket and where its stream stands.
/// Sends what the kernel takes and reads what has arrived, checking every echoed byte against
/// the pattern at its stream position. Every mode keeps its state here: ping-pong and connect
/// one message at a time (<see cref="BeginMessage"/>), bulk an endless stream
/// (<see cref="BeginStream"/>). Holds no buffers of its own (the engine's one receive buffer is
/// lent to each read), so a connection costs a few fields.
/// </summary>
internal sealed class EpollConnection(int index)
{
    /// <summary>Its place in the run: epoll tag, pattern seed and tally.</summary>
    public int Index { get; } = index;

    public int Fd { get; private set; } = -1;

    /// <summary>Bytes of the stream sent.</summary>
    public long Sent { get; private set; }

    /// <summary>Echoed bytes of the stream received and checked.</summary>
    public long Received { get; private set; }

    /// <summary>Where sending stops (the current message's end, or never for a bulk stream).</summary>
    public long SendEnd { get; private set; }

    /// <summary>When the current message started (its latency runs from here).</summary>
    public long StartTimestamp { get; private set; }

    /// <summary>The errno of the last failed step.</summary>
    public int Error { get; private set; }

    /// <summary>A connect was started and has not finished yet (connect mode).</summary>
    public bool Connecting { get; set; }

    /// <summary>The write side is shut down (bulk mode, once the run stops).</summary>
    public bool HalfClosed { get; set; }

    /// <summary>Done for this run: the driver stops when every connection is.</summary>
    public bool Retired { get; set; }

    public bool SendPending => Sent < SendEnd;

    private int _corruptBytes;
    private uint _watching;

    /// <summary>Takes over <paramref name="fd"/>, already registered with epoll for <paramref name="watching"/>; the stream starts at 0.</summary>
    public void Attach(int fd, uint watching)
    {
        Fd = fd;
        _watching = watching;
        Sent = 0;
        Received = 0;
        HalfClosed = false;
    }

    /// <summary>The next message: <paramref name="size"/> bytes from where the stream stands.</summary>
    public void BeginMessage(int size, long startTimestamp)
    {
        SendEnd = Sent + size;
        StartTimestamp = startTimestamp;
    }

    /// <summary>An endless stream (bulk): sending goes on until the run stops.</summary>
    public void BeginStream() => SendEnd = long.MaxValue;

    /// <summary>
    /// Sends as much as the kernel takes now, in pieces that end at multiples of
    /// <paramref name="writeSize"/> (a partial write is continued, not restarted); false on a
    /// socket error.
    /// </summary>
    public bool TrySend(PayloadPattern pattern, int writeSize)
    {
        while (Sent < SendEnd)
        {
            int length = (int)Math.Min(writeSize - Sent % writeSize, SendEnd - Sent);
            nint n = NativeSocket.SendSome(Fd, pattern.Slice(Index, Sent, length).Span, out int error);
            if (n == 0)
                return true;
            if (n < 0)
            {
                Error = error;
                return false;
            }
            Sent += n;
        }
        return true;
    }

    /// <summary>
    /// Reads and checks what has arrived, into <paramref name="buffer"/>, until everything sent
    /// so far is back (<see cref="ExchangeStep.Echoed"/>), the socket is empty, or
    /// <paramref name="maxReads"/> reads were made (both <see cref="ExchangeStep.Waiting"/>).
    /// </summary>
    public ExchangeStep Receive(PayloadPattern pattern, byte[] buffer, int maxReads)
    {
        for (int reads = 0; Received < SendEnd; )
        {
            if (reads++ == maxReads)
                return ExchangeStep.Waiting;
            int wanted = (int)Math.Min(SendEnd - Received, buffer.Length);
            nint n = NativeSocket.Receive(Fd, buffer.AsSpan(0, (int)wanted));
            if (n > 0)
            {
                _corruptBytes += pattern.CountMismatches(Index, Received, buffer.AsSpan(0, (int)n));
                Received += n;
                continue;
            }
            if (n == 0)
                return ExchangeStep.PeerClosed;
            int error = Errno.Last;
            if (error == Errno.Interrupted)
                continue;
            if (error == Errno.WouldBlock)
                return ExchangeStep.Waiting;
            Error = error;
            return ExchangeStep.Failed;
        }
        return ExchangeStep.Echoed;
    }

    /// <summary>Echoed bytes that differed since the last call.</summary>
    public int TakeCorruptBytes()
    {
        int corrupt = _corruptBytes;
        _corruptBytes = 0;
        return corrupt;
    }

    /// <summary>Asks epoll for <paramref name="events"/> unless that is what it already watches.</summary>
    public void Watch(EpollSet epoll, uint events)
    {
        if (events == _watching)
            return;
        epoll.Modify(Fd, events, Index);
        _watching = events;
    }

    public void ShutdownWrite() => NativeSocket.ShutdownWrite(Fd);

    public void Close()
    {
        if (Fd >= 0)
            NativeSocket.Close(Fd);
        Fd = -1;
        _watching = 0;
    }
}
