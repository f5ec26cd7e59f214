using System.Buffers;
using System.Threading.Tasks.Sources;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Transport;

/// <summary>
/// One direction of bytes from a socket to a socket (echo's is the same socket both ways),
/// moved as a C epoll server moves them: receive into the thread's scratch buffer, send from it,
/// on the thread epoll woke. No pipeline, no copy while the destination takes everything, and no
/// async state machine: a message costs one <c>recv</c>, one <c>send</c> and one call of this class.
/// </summary>
/// <remarks>
/// Backpressure is the kernel's. When the destination takes only part of a receive, the rest
/// (at most one receive, <see cref="ReceiveScratch.Size"/>) is kept in a pool block and the
/// source is not read again until the destination has taken it, so a slow reader slows its
/// writer through TCP's window and a relay never holds more than one block; an idle relay holds
/// none. A FIN is passed on as a FIN once everything before it is sent.
/// <para>
/// A relay allowed to splice (forward's <c>splice=on</c>) switches once a receive fills the
/// scratch buffer: from then on bytes go socket → a pipe of its own → socket with
/// <c>splice(2)</c>, never through user space, and what the destination refused waits in the pipe.
/// </para>
/// <para>
/// One step runs at a time: the relay waits on one signal at a time (the source's "readable" or
/// the destination's "writable"), and the signal runs the next step on the thread that signalled
/// (on the thread pool when it came just as the wait was being registered).
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

    /// <summary>Whether this relay may move bulk through a pipe with splice(2) (<see cref="SpliceSize"/>).</summary>
    private readonly bool _spliceAllowed;

    // Once the source sends in bulk: the pipe bytes are spliced through, and how many are in it.
    private int _pipeRead = -1;
    private int _pipeWrite = -1;
    private int _inPipe;

    /// <summary>The last receive took everything the socket had: wait for epoll before the next.</summary>
    private bool _drained;

    private bool _sourceFinished;
    private long _unbroken;
    private volatile bool _stopRequested;
    private CancellationTokenRegistration _stopping;
    private ManualResetValueTaskSourceCore<DirectionEnd> _completion;

    /// <summary>At most this much is spliced at once: a pipe's default capacity.</summary>
    public const int SpliceSize = 64 * 1024;

    /// <param name="splice">
    /// Once a receive fills the scratch buffer (the source sends in bulk), move bytes with
    /// <c>splice(2)</c> through a pipe of the relay's own instead of through user space.
    /// </param>
    public SocketRelay(SocketConnection source, SocketConnection destination, bool splice = false)
    {
        _source = source;
        _destination = destination;
        _spliceAllowed = splice;
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
    public ValueTask<DirectionEnd> RunAsync(CancellationToken stopping = default) => new(this, Start(stopping));

    /// <summary>
    /// <see cref="RunAsync"/> for a caller that reads the end through this relay as its own
    /// <see cref="IValueTaskSource{DirectionEnd}"/> (echo's, as a close reason): the token to read it with.
    /// </summary>
    public short Start(CancellationToken stopping = default)
    {
        short version = _completion.Version;
        if (stopping.CanBeCanceled)
            _stopping = stopping.UnsafeRegister(static relay => ((SocketRelay)relay!).OnStopRequested(), this);
        Step(afterReadable: false);
        return version;
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
                return SourceClosed();
            if (_destination.IsClosed)
                return DirectionEnd.DestinationGone;
            int error;
            if (Pending > 0)
            {
                if (!SendPending(out error))
                    return DestinationFailed(error);
                if (Pending > 0)
                {
                    // The socket is full: wait for room.
                    if (Wait(_destination.Writable, afterReadable: false))
                        return null;
                    continue;
                }
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
            int requested = _pipeRead >= 0 ? SpliceSize : scratch.Length;
            int received = _pipeRead >= 0
                ? _source.SpliceTo(_pipeWrite, requested, out error)
                : _source.Receive(scratch, out error);
            if (received < 0)
            {
                if (error != Errno.WouldBlock)
                    return _source.IsClosed ? SourceClosed() : DirectionEnd.SourceReset;
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
            if (_pipeRead >= 0)
            {
                // A splice stops short when the pipe runs out of slots (one per packet's page),
                // whatever the socket still holds: only EAGAIN says it is drained.
                _inPipe = received;
                continue; // sent as pending
            }
            // Edge-triggered: a receive that did not fill the buffer took everything there was,
            // unless epoll saw the peer hang up (the FIN is returned only by the next receive).
            _drained = received < requested && !_source.PeerHungUp;

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
            else if (received == requested && _spliceAllowed)
                StartSplicing();
        }
    }

    /// <summary>Bytes received and not yet taken by the destination: in the held block, or in the pipe.</summary>
    private int Pending => _held is not null ? _heldEnd - _heldStart : _inPipe;

    /// <summary>Sends what is pending as far as the destination takes it; false when the send failed (the errno in <paramref name="error"/>).</summary>
    private bool SendPending(out int error)
    {
        int sent = _held is not null
            ? _destination.Send(_held.Memory.Span[_heldStart.._heldEnd], out error)
            : _destination.SpliceFrom(_pipeRead, _inPipe, out error);
        if (sent < 0)
            return error == Errno.WouldBlock;
        _destination.CountSent(sent);
        if (_held is not null)
        {
            _heldStart += sent;
            if (_heldStart == _heldEnd)
                ReleaseHeld();
        }
        else
            _inPipe -= sent;
        return true;
    }

    /// <summary>
    /// The source sends in bulk: from now on bytes go socket → pipe → socket in the kernel. A relay
    /// that cannot have a pipe (out of descriptors) goes on copying.
    /// </summary>
    private void StartSplicing()
    {
        if (PipeCalls.Open(out _pipeRead, out _pipeWrite) != 0)
            _pipeRead = _pipeWrite = -1;
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

    /// <summary>
    /// The source was closed under the relay: by its peer's reset found while sending to it (the
    /// other direction of a pair closes it with that reset), or by ferryd (a timeout, the shutdown
    /// deadline, a cut).
    /// </summary>
    private DirectionEnd SourceClosed() => _source.ClosedBecause is IOException ? DirectionEnd.SourceReset : DirectionEnd.Aborted;

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

    /// <summary>The relay is over: nothing held, no pipe, no stop to listen for.</summary>
    private void Release()
    {
        ReleaseHeld();
        if (_pipeRead >= 0)
        {
            DescriptorCalls.Close(_pipeRead);
            DescriptorCalls.Close(_pipeWrite);
            _pipeRead = _pipeWrite = -1;
            _inPipe = 0;
        }
        _stopping.Unregister();
    }

    DirectionEnd IValueTaskSource<DirectionEnd>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<DirectionEnd>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<DirectionEnd>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _completion.OnCompleted(continuation, state, token, flags);
}
