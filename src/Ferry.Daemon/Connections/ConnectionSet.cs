using Ferry.Daemon.Transport;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Connections;

/// <summary>
/// The open connections of one listener, so they can be swept for timeouts, listed, and closed
/// in stages when the listener stops: asked to finish first (one request for all of them on a
/// loop, <see cref="CloseRequestedOn"/>), aborted at the deadline.
/// </summary>
/// <remarks>
/// Kept in a <see cref="SlotTable{T}"/>, each connection knowing its slot: adding and removing
/// one is a short lock and no allocation (a concurrent dictionary cost a node per connection and took
/// all its locks whenever it was found empty).
/// </remarks>
internal sealed class ConnectionSet
{
    private readonly Lock _gate = new();
    private readonly SlotTable<TrackedConnection?> _slots = new(16);
    // One per epoll loop: a connection's reads register on its loop's, so no lock is shared across cores.
    private readonly CancellationTokenSource[] _closeRequested =
        [.. Enumerable.Range(0, EpollLoop.All.Count).Select(_ => new CancellationTokenSource())];
    private int _count;
    private TaskCompletionSource? _emptied;

    /// <summary>
    /// The "please finish and close" request (shutdown, or the listener removed by a reload) for
    /// the connections on <paramref name="loop"/>, made of every connection at once once the
    /// listener no longer accepts: the services see it as <see cref="Services.ServiceConnection.Stopping"/>.
    /// </summary>
    public CancellationToken CloseRequestedOn(EpollLoop loop) => _closeRequested[loop.Index].Token;

    /// <summary>
    /// The open connections, read without the lock: for the sweep, a scrape or a status, which
    /// must never hold up accepting and closing. One added or removed meanwhile may be missed or
    /// still seen.
    /// </summary>
    public IEnumerable<TrackedConnection> Current
    {
        get
        {
            foreach (var slot in _slots.Items)
            {
                if (slot is { } connection)
                    yield return connection;
            }
        }
    }

    public void Add(TrackedConnection connection)
    {
        lock (_gate)
        {
            connection.Slot = _slots.Add(connection);
            _count++;
        }
    }

    /// <summary>Forgets the connection; a second call for it does nothing.</summary>
    public void Remove(TrackedConnection connection)
    {
        lock (_gate)
        {
            if (connection.Slot < 0)
                return;
            _slots.Free(connection.Slot);
            connection.Slot = -1;
            if (--_count > 0)
                return;
            _emptied?.TrySetResult();
            _emptied = null;
        }
    }

    /// <summary>Completes once no connection is open (new ones must no longer be accepted by then).</summary>
    public Task WhenEmptyAsync()
    {
        lock (_gate)
        {
            if (_count == 0)
                return Task.CompletedTask;
            _emptied ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _emptied.Task;
        }
    }

    /// <summary>Asks every open connection to finish; aborts those still open at the deadline.</summary>
    public async Task CloseAllAsync(CancellationToken deadline)
    {
        var open = Current.ToArray();
        foreach (var closeRequested in _closeRequested)
            await closeRequested.CancelAsync();
        var served = open.Select(c => c.Served).ToArray();
        try
        {
            await Task.WhenAll(served).WaitAsync(deadline);
            return;
        }
        catch (OperationCanceledException)
        {
        }
        foreach (var connection in Current)
            connection.Context.Abort(new ConnectionAbortedException("shutdown deadline passed"));
        await Task.WhenAll(served);
    }
}
