using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Transport;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Services.Forward;

/// <summary>
/// A client and its upstream, bytes copied both ways until both directions are done.
/// </summary>
/// <remarks>
/// With plain TCP on both sides each direction is a <see cref="SocketRelay"/>: receive, send,
/// nothing copied unless the destination is full, and then what it refused (at most one receive,
/// 16 KiB, or with <c>splice=on</c> a pipe's 64 KiB in the kernel) waits while the source is not read. With TLS on either side each direction is a loop over the pipes
/// (<see cref="PipeCopy.PumpAsync"/>), whose flush waits while the destination holds more than
/// <see cref="SocketWriter.PauseBytes"/> unsent. Either way a slow reader on either side slows
/// its writer through TCP's window.
/// A FIN is passed on as a FIN (half-close), after which the other direction may go on for
/// finTimeout; a reset is passed on as a reset. The pair is its own awaitable: an idle pair is
/// this object and its two directions, no state machine.
/// </remarks>
/// <param name="upstreamPipes">The upstream's bytes: its transport, or a TLS session over it.</param>
/// <param name="splice">Plain TCP both ways: a direction that sends in bulk moves its bytes with splice(2).</param>
internal sealed class ForwardPair(ServiceConnection client, SocketConnection upstream, IDuplexPipe upstreamPipes, TimeSpan finTimeout, bool splice)
    : IValueTaskSource<CloseReason>
{
    private readonly Lock _gate = new();
    private ManualResetValueTaskSourceCore<CloseReason> _completion;
    private ConfiguredValueTaskAwaitable<DirectionEnd>.ConfiguredValueTaskAwaiter _toUpstream;
    private ConfiguredValueTaskAwaitable<DirectionEnd>.ConfiguredValueTaskAwaiter _toClient;
    private bool _toUpstreamEnded;
    private bool _toClientEnded;
    private CloseReason? _reason;
    private Exception? _fault;
    private Timer? _finTimer;

    // Cuts under way, and whether both directions have ended meanwhile: the pair completes only
    // once no cut is under way, or a socket could be closed with a FIN before the cut resets it.
    private int _cutting;
    private bool _completionDue;

    /// <summary>Who ended first, for the close line: "client closed first", "upstream reset first", ...</summary>
    public string Ending { get; private set; } = "";

    public ValueTask<CloseReason> RunAsync()
    {
        short version = _completion.Version;
        // The client closed under the pair (idle timeout, the shutdown deadline): a direction may
        // be waiting on the upstream (for room to write, or for bytes), so cut it to wake it.
        var clientSocket = client.Transport as SocketConnection;
        clientSocket?.ResetWhenClosed(upstream);
        if (client.PlainSocket is { } plain && ReferenceEquals(upstreamPipes, upstream.Transport) && upstream.HoldsNothing)
        {
            _toUpstream = new SocketRelay(plain, upstream, splice).RunAsync().ConfigureAwait(false).GetAwaiter();
            Watch(_toUpstream, toUpstream: true);
            _toClient = new SocketRelay(upstream, plain, splice).RunAsync().ConfigureAwait(false).GetAwaiter();
            Watch(_toClient, toUpstream: false);
        }
        else
        {
            _toUpstream = new ValueTask<DirectionEnd>(PipeCopy.PumpAsync(client.Input, upstreamPipes.Output)).ConfigureAwait(false).GetAwaiter();
            Watch(_toUpstream, toUpstream: true);
            _toClient = new ValueTask<DirectionEnd>(PipeCopy.PumpAsync(upstreamPipes.Input, client.Output)).ConfigureAwait(false).GetAwaiter();
            Watch(_toClient, toUpstream: false);
        }
        return new ValueTask<CloseReason>(this, version);
    }

    private void Watch(ConfiguredValueTaskAwaitable<DirectionEnd>.ConfiguredValueTaskAwaiter direction, bool toUpstream)
    {
        if (direction.IsCompleted)
            Ended(toUpstream);
        else if (toUpstream)
            direction.UnsafeOnCompleted(() => Ended(toUpstream: true));
        else
            direction.UnsafeOnCompleted(() => Ended(toUpstream: false));
    }

    /// <summary>A direction is over: the first one decides what happens to the other, the second one ends the pair.</summary>
    private void Ended(bool toUpstream)
    {
        DirectionEnd end;
        Exception? fault = null;
        try
        {
            end = toUpstream ? _toUpstream.GetResult() : _toClient.GetResult();
        }
        catch (Exception ex)
        {
            // A bug in one direction must not leave the other waiting for ever.
            fault = ex;
            end = DirectionEnd.Aborted;
        }
        bool cut = false;
        bool complete;
        lock (_gate)
        {
            bool first = !_toUpstreamEnded && !_toClientEnded;
            if (toUpstream)
                _toUpstreamEnded = true;
            else
                _toClientEnded = true;
            bool done = _toUpstreamEnded && _toClientEnded;
            if (fault is not null)
            {
                _fault ??= fault;
                cut = true;
            }
            else if (first && end == DirectionEnd.Finished)
            {
                Ending = $"{Side(toUpstream)} closed first";
                _finTimer = new Timer(static pair => ((ForwardPair)pair!).FinTimedOut(), this, finTimeout, Timeout.InfiniteTimeSpan);
            }
            else if (_reason is null)
            {
                // The first direction's end other than by a FIN, or the second's after a half-close.
                _reason = end == DirectionEnd.Finished ? CloseReason.PeerClosed : Settle(toUpstream, end);
                cut = end != DirectionEnd.Finished;
            }
            if (done)
            {
                _finTimer?.Dispose();
                _completionDue = true;
            }
            if (cut)
                _cutting++;
            complete = TakeCompletion();
        }
        if (cut)
            Cut();
        if (complete)
            Complete();
    }

    /// <summary>The pair may complete now: both directions ended and no cut under way. Under the lock.</summary>
    private bool TakeCompletion()
    {
        if (!_completionDue || _cutting > 0)
            return false;
        _completionDue = false;
        return true;
    }

    /// <summary>
    /// Resets both sides, outside the lock (cutting wakes the other direction, which may end on this
    /// very thread); the caller counted the cut in <see cref="_cutting"/> under the lock. If both
    /// directions ended meanwhile, the pair completes here, after both resets.
    /// </summary>
    private void Cut()
    {
        CutBoth();
        bool complete;
        lock (_gate)
        {
            _cutting--;
            complete = TakeCompletion();
        }
        if (complete)
            Complete();
    }

    private void Complete()
    {
        (client.Transport as SocketConnection)?.ForgetWhenClosed();
        if (_fault is not null)
            _completion.SetException(_fault);
        else
            _completion.SetResult(_reason ?? CloseReason.Aborted);
    }

    /// <summary>finTimeout after a half-close, and the other side has not finished.</summary>
    private void FinTimedOut()
    {
        lock (_gate)
        {
            if (_reason is not null || (_toUpstreamEnded && _toClientEnded))
                return;
            Ending = $"{Ending}, the other side did not within finTimeout {finTimeout.TotalSeconds:0.###} s";
            _reason = CloseReason.FinTimeout;
            _cutting++;
        }
        Cut();
    }

    private static string Side(bool toUpstream) => toUpstream ? "client" : "upstream";

    /// <summary>A direction that ended other than by a FIN decides the pair's ending: resets go on as resets. Under the lock.</summary>
    private CloseReason Settle(bool toUpstream, DirectionEnd end)
    {
        string what;
        CloseReason reason;
        switch (end)
        {
            case DirectionEnd.SourceReset:
                // The reset side is the source: pass it on to the other side.
                what = $"{Side(toUpstream)} reset";
                reason = toUpstream ? CloseReason.PeerReset : CloseReason.UpstreamReset;
                break;
            case DirectionEnd.DestinationGone:
                // The destination of that direction reset: the other side of the pair.
                what = $"{Side(!toUpstream)} reset";
                reason = toUpstream ? CloseReason.UpstreamReset : CloseReason.PeerReset;
                break;
            default:
                what = "closed by ferryd";
                reason = CloseReason.Aborted;
                break;
        }
        // After a half-close this came second.
        Ending = Ending.Length == 0 ? (reason == CloseReason.Aborted ? what : what + " first") : $"{Ending}, then {what}";
        return reason;
    }

    /// <summary>
    /// Resets both sides: neither may take the end of a cut stream for a complete one (closed by
    /// ferryd too, a timeout or the shutdown deadline: a FIN would pass a cut stream off as complete).
    /// </summary>
    private void CutBoth()
    {
        upstream.Reset(new ConnectionAbortedException("the other side of the pair was cut"));
        client.Abort();
    }

    CloseReason IValueTaskSource<CloseReason>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<CloseReason>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<CloseReason>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _completion.OnCompleted(continuation, state, token, flags);
}
