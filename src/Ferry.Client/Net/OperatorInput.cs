namespace Ferry.Client.Net;

/// <summary>
/// The listener operator's input (stdin), read by one long-lived pump for the whole life of
/// <c>ferry listen</c> and sent to whichever peer is currently attached.
/// </summary>
/// <remarks>
/// Input is read only while a peer is attached, so nothing typed between peers is consumed
/// and lost; a chunk that was already read when its peer left goes to the next peer. When
/// the input ends, the current peer is half-closed, and so is every peer attached later.
/// </remarks>
internal sealed class OperatorInput(Stream input)
{
    private readonly Lock _gate = new();
    private PeerConnection? _peer;
    private TaskCompletionSource _peerAttached = NewSignal();
    private bool _ended;

    /// <summary>Makes <paramref name="peer"/> the destination for input.</summary>
    public void Attach(PeerConnection peer)
    {
        lock (_gate)
        {
            if (!_ended)
            {
                _peer = peer;
                _peerAttached.TrySetResult();
                return;
            }
        }
        HalfClose(peer);
    }

    /// <summary>Stops sending to <paramref name="peer"/>; does nothing if it is no longer attached.</summary>
    public void Detach(PeerConnection peer)
    {
        lock (_gate)
        {
            if (_peer != peer)
                return;
            _peer = null;
            _peerAttached = NewSignal();
        }
    }

    /// <summary>
    /// Pumps input to the attached peers until the input ends. Completes normally at EOF and
    /// faults only when reading the input fails; a peer that cannot be sent to is detached.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[SocketPump.BufferSize];
        while (true)
        {
            await NextPeerAsync(cancellationToken);
            int read = await input.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                End();
                return;
            }
            // The peer we waited for may have gone while the read was pending: ask again.
            PeerConnection peer = await NextPeerAsync(cancellationToken);
            try
            {
                await peer.SendAllAsync(buffer.AsMemory(0, read), cancellationToken);
            }
            catch (Exception exception) when (exception is PeerConnectionException or ObjectDisposedException)
            {
                // The connection is broken; its session reports how. Whatever of this chunk it
                // did not take is lost with it, and later input must not be aimed at it again.
                Detach(peer);
            }
        }
    }

    private async Task<PeerConnection> NextPeerAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task attached;
            lock (_gate)
            {
                if (_peer is { } peer)
                    return peer;
                attached = _peerAttached.Task;
            }
            await attached.WaitAsync(cancellationToken);
        }
    }

    private void End()
    {
        PeerConnection? peer;
        lock (_gate)
        {
            _ended = true;
            peer = _peer;
        }
        if (peer is not null)
            HalfClose(peer);
    }

    private static void HalfClose(PeerConnection peer)
    {
        // Not awaited by the reader of stdin: a TLS close_notify to a peer that stopped
        // reading must not hold up input for the next peer.
        _ = HalfCloseQuietlyAsync(peer);
    }

    private static async Task HalfCloseQuietlyAsync(PeerConnection peer)
    {
        try
        {
            await peer.HalfCloseAsync();
        }
        catch (Exception exception) when (exception is PeerConnectionException or ObjectDisposedException or InvalidOperationException)
        {
            // Already gone: there is no one left to tell that input has ended.
        }
    }

    private static TaskCompletionSource NewSignal() =>
        new(TaskCreationOptions.RunContinuationsAsynchronously);
}
