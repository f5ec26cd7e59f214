using System.Runtime.InteropServices;

namespace Ferry.Client.Bench;

/// <summary>
/// One message and its echo on a non-blocking socket, driven by the epoll engine: sends what
/// the kernel takes, reads what has arrived, checks every echoed byte against the pattern at
/// its stream position. Holds no buffers of its own (the engine's one receive buffer is lent
/// to each read), so a connection costs a few fields.
/// </summary>
internal sealed class EchoExchange(PayloadPattern pattern, int seed, int size)
{
    private int _sent;
    private int _received;

    public int Fd { get; set; } = -1;

    /// <summary>Where this message starts in the connection's stream.</summary>
    public long StreamOffset { get; private set; }

    public long StartTimestamp { get; private set; }

    /// <summary>Echoed bytes of this message that differed from what was sent.</summary>
    public int CorruptBytes { get; private set; }

    /// <summary>The errno of the last <see cref="ExchangeStep.Failed"/> step.</summary>
    public int Error { get; private set; }

    public bool SendPending => _sent < size;

    /// <summary>Whether epoll is asked for writability too (only while a send is unfinished).</summary>
    public bool WatchingWrite { get; set; }

    public void Begin(long streamOffset, long startTimestamp)
    {
        StreamOffset = streamOffset;
        StartTimestamp = startTimestamp;
        _sent = 0;
        _received = 0;
        CorruptBytes = 0;
    }

    /// <summary>Sends as much of the message as the kernel takes now; false on a socket error.</summary>
    public bool TrySend()
    {
        while (_sent < size)
        {
            ReadOnlySpan<byte> rest = pattern.Slice(seed, StreamOffset + _sent, size - _sent).Span;
            nint n = LinuxSockets.SendSome(Fd, rest, out int error);
            if (n == 0)
                return true;
            if (n < 0)
            {
                Error = error;
                return false;
            }
            _sent += (int)n;
        }
        return true;
    }

    /// <summary>Reads and checks what has arrived, into <paramref name="buffer"/>, until the message is whole or the socket is empty.</summary>
    public ExchangeStep Receive(byte[] buffer)
    {
        while (_received < size)
        {
            int wanted = Math.Min(size - _received, buffer.Length);
            nint n = LinuxSockets.Receive(Fd, ref buffer[0], wanted, 0);
            if (n > 0)
            {
                CorruptBytes += pattern.CountMismatches(seed, StreamOffset + _received, buffer.AsSpan(0, (int)n));
                _received += (int)n;
                continue;
            }
            if (n == 0)
                return ExchangeStep.PeerClosed;
            int error = LinuxSockets.LastError;
            if (error == LinuxSockets.ErrorInterrupted)
                continue;
            if (error == LinuxSockets.ErrorWouldBlock)
                return ExchangeStep.Waiting;
            Error = error;
            return ExchangeStep.Failed;
        }
        return ExchangeStep.Echoed;
    }

    /// <summary>Asks epoll for writability while a send is unfinished, and stops asking once it is done.</summary>
    public void WatchFor(EpollSet epoll, int tag)
    {
        bool needsWrite = SendPending;
        if (needsWrite == WatchingWrite)
            return;
        epoll.Modify(Fd, needsWrite ? LinuxSockets.EpollIn | LinuxSockets.EpollOut : LinuxSockets.EpollIn, tag);
        WatchingWrite = needsWrite;
    }

    public void Close()
    {
        if (Fd >= 0)
            NativeSocket.Close(Fd);
        Fd = -1;
        WatchingWrite = false;
    }
}
