using System.Runtime.InteropServices;

namespace Ferry.Client.Bench;

/// <summary>
/// Bulk mode on one thread and one epoll set: each connection writes the pattern in
/// <c>--size</c>-byte pieces whenever its socket takes more, and reads and checks the echo
/// whenever some is back. At the end it half-closes and reads to the server's end of stream,
/// so every byte sent is accounted for. Nothing is allocated per write or read.
/// </summary>
internal sealed class EpollBulk : IDisposable
{
    private const int WaitMilliseconds = 50;
    private const int ReceiveBufferSize = 64 * 1024;
    // Reads per readiness event: enough to drain a socket buffer, few enough to stay fair.
    private const int ReadsPerEvent = 32;

    private readonly EpollSet _epoll;
    private readonly int[] _fds;
    private readonly long[] _sent;
    private readonly long[] _received;
    private readonly bool[] _halfClosed;
    private readonly ConnectionTally[] _tallies;
    private readonly PayloadPattern _pattern;
    private readonly BenchPhase _phase;
    private readonly int _writeSize;
    private readonly byte[] _receiveBuffer = new byte[ReceiveBufferSize];

    private EpollBulk(EpollSet epoll, int connections, ConnectionTally[] tallies, PayloadPattern pattern, BenchPhase phase, int writeSize)
    {
        _epoll = epoll;
        _fds = Enumerable.Repeat(-1, connections).ToArray();
        _sent = new long[connections];
        _received = new long[connections];
        _halfClosed = new bool[connections];
        _tallies = tallies;
        _pattern = pattern;
        _phase = phase;
        _writeSize = writeSize;
    }

    /// <summary>Connects every connection before the run; a failure ends the run.</summary>
    public static EpollBulk Open(BenchSettings settings, PayloadPattern pattern, BenchPhase phase, ConnectionTally[] tallies)
    {
        var engine = new EpollBulk(new EpollSet(Math.Min(settings.Connections, 1024)), settings.Connections, tallies, pattern, phase, settings.MessageSize);
        try
        {
            var connector = new EpollConnector(settings, engine._epoll);
            for (int i = 0; i < engine._fds.Length; i++)
                engine._fds[i] = connector.Connect(i);
            return engine;
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    public Task RunAsync(CancellationToken deadline) => EpollThread.Start("ferry bench bulk", () => Run(deadline));

    public void Dispose()
    {
        for (int i = 0; i < _fds.Length; i++)
            Close(i);
        _epoll.Dispose();
    }

    private void Run(CancellationToken deadline)
    {
        for (int i = 0; i < _fds.Length; i++)
            _epoll.Modify(_fds[i], LinuxSockets.EpollIn | LinuxSockets.EpollOut, i);
        int active = _fds.Length;
        while (active > 0)
        {
            if (deadline.IsCancellationRequested)
            {
                for (int i = 0; i < _fds.Length; i++)
                {
                    if (_fds[i] >= 0)
                        _tallies[i].CountError("echo not finished before the run's deadline");
                }
                return;
            }
            int count = _epoll.Wait(WaitMilliseconds);
            for (int e = 0; e < count; e++)
            {
                int index = _epoll.TagAt(e);
                if (_fds[index] >= 0 && !OnReady(index, _epoll.EventsAt(e)))
                    active--;
            }
            // A stopping run half-closes connections whose socket has not reported writable.
            if (_phase.Stopping)
            {
                for (int i = 0; i < _fds.Length; i++)
                    HalfCloseIfStopping(i);
            }
        }
    }

    /// <summary>Handles one readiness event; false when the connection is finished.</summary>
    private bool OnReady(int index, uint events)
    {
        // Drain the echo first: a server blocked on our full receive buffer stops reading too.
        if ((events & (LinuxSockets.EpollIn | LinuxSockets.EpollError | LinuxSockets.EpollHangUp)) != 0 && !Receive(index))
            return false;
        if ((events & LinuxSockets.EpollOut) != 0 && !HalfCloseIfStopping(index))
            return Send(index);
        return true;
    }

    /// <summary>Once the run stops: stop writing and tell the server (FIN), so it can end the echo.</summary>
    private bool HalfCloseIfStopping(int index)
    {
        if (!_phase.Stopping || _halfClosed[index] || _fds[index] < 0)
            return _halfClosed[index];
        LinuxSockets.Shutdown(_fds[index], LinuxSockets.ShutdownWrite);
        _epoll.Modify(_fds[index], LinuxSockets.EpollIn, index);
        _halfClosed[index] = true;
        return true;
    }

    private bool Send(int index)
    {
        int fd = _fds[index];
        while (true)
        {
            // Continue the current write where the kernel stopped taking it.
            int length = _writeSize - (int)(_sent[index] % _writeSize);
            ReadOnlySpan<byte> data = _pattern.Slice(index, _sent[index], length).Span;
            nint n = LinuxSockets.SendSome(fd, data, out int error);
            if (n == 0)
                return true;
            if (n < 0)
            {
                _tallies[index].CountError(Errno.Describe(error));
                Close(index);
                return false;
            }
            _sent[index] += n;
        }
    }

    private bool Receive(int index)
    {
        ConnectionTally tally = _tallies[index];
        for (int round = 0; round < ReadsPerEvent; round++)
        {
            nint n = LinuxSockets.Receive(_fds[index], ref _receiveBuffer[0], _receiveBuffer.Length, 0);
            if (n > 0)
            {
                int corrupt = _pattern.CountMismatches(index, _received[index], _receiveBuffer.AsSpan(0, (int)n));
                if (corrupt > 0)
                    tally.CountCorruption(corrupt);
                _received[index] += n;
                if (_phase.Measuring)
                    tally.CountBytes((int)n);
                continue;
            }
            if (n == 0)
            {
                if (_received[index] != _sent[index])
                    tally.CountError($"echo ended after {_received[index]} of {_sent[index]} bytes");
                Close(index);
                return false;
            }
            int error = LinuxSockets.LastError;
            if (error == LinuxSockets.ErrorInterrupted)
                continue;
            if (error == LinuxSockets.ErrorWouldBlock)
                return true;
            tally.CountError(Errno.Describe(error));
            Close(index);
            return false;
        }
        return true;
    }

    private void Close(int index)
    {
        if (_fds[index] >= 0)
            NativeSocket.Close(_fds[index]);
        _fds[index] = -1;
    }
}
