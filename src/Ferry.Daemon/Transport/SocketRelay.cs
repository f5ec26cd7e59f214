using System.Buffers;
using System.Threading.Tasks.Sources;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Transport;

/// <summary>
/// One direction of bytes from a socket to a socket (echo's is the same socket both ways),
/// moved as a C epoll server moves them: receive into the thread's scratch buffer, send from it,
/// on the thread epoll woke. No pipe, no copy and no async state machine: a message costs one
/// <c>recv</c>, one <c>send</c> and one call of this class.
/// </summary>
/// <remarks>
/// Backpressure is the kernel's. When the destination takes only part of a receive, the rest
/// (at most one receive, <see cref="ReceiveScratch.Size"/>) is kept in a pool block and the
/// source is not read again until the destination has taken it, so a slow reader slows its
/// writer through TCP's window and a relay never holds more than one block; an idle relay holds
/// none. A FIN is passed on as a FIN once everything before it is sent.
/// <para>
/// One step runs at a time: the relay waits on one signal at a time (the source's "readable" or
/// the destination's "writable"), and the signal runs the next step on the thread that signalled.
/// The relay completes as a <see cref="ValueTask{DirectionEnd}"/>, once.
/// </para>
/// </remarks>
internal sealed class SocketRelay : IValueTaskSource<DirectionEnd>
{
    private readonly SocketConnection _source;
    private readonly SocketConnection _destination;

    // What the destination refused: _held's bytes from _heldStart to _heldEnd.
    private IMemoryOwner<byte>? _held;
    private int _heldStart;
    private int _heldEnd;

    /// <summary>The last receive took everything the socket had: wait for epoll before the next.</summary>
    private bool _drained;

    private bool _sourceFinished;
    private long _unbroken;
    private volatile bool _stopRequested;
    private CancellationTokenRegistration _stopping;
    private ManualResetValueTaskSourceCore<DirectionEnd> _completion;

    public SocketRelay(SocketConnection source, SocketConnection destination)
    {
        _source = source;
        _destination = destination;
        // A socket nothing was ever received from has had every arrival reported by epoll (a
        // socket registered with data waiting is reported at once): the first receive waits for
        // that report, as a C server's does, instead of trying and finding nothing.
        _drained = source.BytesReceived == 0 && !source.PeerFinished;
        // The service that waits for the end resumes where the source's service would have.
        _completion.RunContinuationsAsynchronously = source.ResumesOnThreadPool;
    }

    /// <summary>
    /// Moves bytes until the source's FIN has been passed on, either side fails or is closed, or
    /// <paramref name="stopping"/> fires (then what the source already has is passed on without
    /// waiting for more, and the relay ends as <see cref="DirectionEnd.Stopped"/>).
    /// </summary>
    public ValueTask<DirectionEnd> RunAsync(CancellationToken stopping = default)
    {
        short version = _completion.Version;
        if (stopping.CanBeCanceled)
            _stopping = stopping.UnsafeRegister(static relay => ((SocketRelay)relay!).OnStopRequested(), this);
        Step(afterReadable: false);
        return new ValueTask<DirectionEnd>(this, version);
    }

    private void OnStopRequested()
    {
        _stopRequested = true;
        // A relay waiting for input wakes to see it; one waiting to send sees it once sent.
        _source.Readable.Signal();
    }

    /// <summary>Goes on until the relay must wait (a signal will call it again) or is over (then it completes).</summary>
    private void Step(bool afterReadable)
    {
        if (afterReadable)
            _drained = false;
        DirectionEnd end;
        try
        {
            if (Advance() is not { } over)
                return;
            end = over;
        }
        catch (Exception ex)
        {
            // A bug, not a peer's doing: whoever waits for the relay sees it and logs it.
            Release();
            _completion.SetException(ex);
            return;
        }
        Release();
        _completion.SetResult(end);
    }

    /// <summary>Moves bytes until a wait is arranged (null) or the direction is over.</summary>
    private DirectionEnd? Advance()
    {
        while (true)
        {
            if (_source.IsClosed)
                return DirectionEnd.Aborted;
            if (_destination.IsClosed)
                return DirectionEnd.DestinationGone;
            int error;
            if (_held is not null)
            {
                int sent = _destination.Send(_held.Memory.Span[_heldStart.._heldEnd], out error);
                if (sent < 0 && error != Errno.WouldBlock)
                    return DestinationFailed(error);
                if (sent > 0)
                {
                    _destination.CountSent(sent);
                    _heldStart += sent;
                }
                if (_heldStart < _heldEnd)
                {
                    // The socket is full: wait for room.
                    if (Wait(_destination.Writable, afterReadable: false))
                        return null;
                    continue;
                }
                ReleaseHeld();
            }
            if (_sourceFinished)
            {
                // The same socket (echo): the close that follows is the FIN, one system call less.
                if (!ReferenceEquals(_source, _destination))
                    _destination.FinishSending();
                return DirectionEnd.Finished;
            }
            if (_drained)
            {
                // An edge that came since the last receive needs no wait: there is more.
                if (_source.Readable.TryConsume())
                    _drained = false;
                else if (_stopRequested)
                    return DirectionEnd.Stopped; // all that had arrived is passed on
                else if (Wait(_source.Readable, afterReadable: true))
                    return null;
                else
                    _drained = false;
            }
            if (_unbroken >= FairShare.Bytes)
            {
                // A client that streams as fast as loopback allows must not keep the epoll
                // thread, and every other connection on it, to itself.
                _unbroken = 0;
                EpollLoop.Later(static relay => ((SocketRelay)relay!).Step(afterReadable: false), this);
                return null;
            }

            byte[] scratch = ReceiveScratch.ForThisThread;
            int received = _source.Receive(scratch, out error);
            if (received < 0)
            {
                if (error != Errno.WouldBlock)
                    return _source.IsClosed ? DirectionEnd.Aborted : DirectionEnd.SourceReset;
                _drained = true;
                continue;
            }
            if (received == 0)
            {
                _source.MarkPeerFinished();
                _sourceFinished = true;
                continue;
            }
            _source.CountReceived(received);
            _unbroken += received;
            // Edge-triggered: a receive that did not fill the buffer took everything there was,
            // unless epoll saw the peer hang up (the FIN is returned only by the next receive).
            _drained = received < scratch.Length && !_source.PeerHungUp;

            int taken = _destination.Send(scratch.AsSpan(0, received), out error);
            if (taken < 0)
            {
                if (error != Errno.WouldBlock)
                    return DestinationFailed(error);
                taken = 0;
            }
            if (taken > 0)
                _destination.CountSent(taken);
            if (taken < received)
                Hold(scratch.AsSpan(taken, received - taken));
        }
    }

    /// <summary>
    /// Waits for <paramref name="signal"/> unless it came already (false: go on at once). The
    /// signal runs the next step; <paramref name="afterReadable"/> says the source may have more.
    /// </summary>
    private bool Wait(ReadinessSignal signal, bool afterReadable)
    {
        if (signal.TryConsume())
            return false;
        _unbroken = 0;
        ((IValueTaskSource)signal).OnCompleted(
            afterReadable ? static relay => ((SocketRelay)relay!).Step(afterReadable: true) : static relay => ((SocketRelay)relay!).Step(afterReadable: false),
            this, 0, ValueTaskSourceOnCompletedFlags.None);
        return true;
    }

    /// <summary>A send failed (the peer reset, or went away while we wrote): the destination is closed with that reason.</summary>
    private DirectionEnd DestinationFailed(int error)
    {
        _destination.Close(SocketFailure.For(error, "send"));
        return DirectionEnd.DestinationGone;
    }

    private void Hold(ReadOnlySpan<byte> rest)
    {
        _held = _destination.Pool.Rent(rest.Length);
        rest.CopyTo(_held.Memory.Span);
        _heldStart = 0;
        _heldEnd = rest.Length;
    }

    private void ReleaseHeld()
    {
        _held?.Dispose();
        _held = null;
    }

    /// <summary>The relay is over: nothing held, no stop to listen for.</summary>
    private void Release()
    {
        ReleaseHeld();
        _stopping.Unregister();
    }

    DirectionEnd IValueTaskSource<DirectionEnd>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<DirectionEnd>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<DirectionEnd>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _completion.OnCompleted(continuation, state, token, flags);
}
