using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Connections;

/// <summary>
/// The open connections of one listener, so they can be swept for timeouts, listed, and closed
/// in stages when the listener stops: asked to finish first, aborted at the deadline.
/// </summary>
internal sealed class ConnectionSet
{
    private readonly ConcurrentDictionary<TrackedConnection, byte> _open = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource? _emptied;

    /// <summary>
    /// The open connections, read without the dictionary's locks (its Keys take them all and
    /// copy): for the sweep, a scrape or a status, which must never hold up accepting and closing.
    /// </summary>
    public IEnumerable<TrackedConnection> Current
    {
        get
        {
            foreach (var pair in _open)
                yield return pair.Key;
        }
    }

    public void Add(TrackedConnection connection) => _open.TryAdd(connection, 0);

    public void Remove(TrackedConnection connection)
    {
        _open.TryRemove(connection, out _);
        if (!_open.IsEmpty)
            return;
        lock (_gate)
        {
            _emptied?.TrySetResult();
            _emptied = null;
        }
    }

    /// <summary>Completes once no connection is open (new ones must no longer be accepted by then).</summary>
    public Task WhenEmptyAsync()
    {
        lock (_gate)
        {
            if (_open.IsEmpty)
                return Task.CompletedTask;
            _emptied ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _emptied.Task;
        }
    }

    /// <summary>Asks every open connection to finish; aborts those still open at the deadline.</summary>
    public async Task CloseAllAsync(CancellationToken deadline)
    {
        var open = _open.Keys.ToArray();
        foreach (var connection in open)
            connection.Lifetime.RequestClose();
        var served = open.Select(c => c.Served).ToArray();
        try
        {
            await Task.WhenAll(served).WaitAsync(deadline);
            return;
        }
        catch (OperationCanceledException)
        {
        }
        foreach (var connection in _open.Keys)
            connection.Context.Abort(new ConnectionAbortedException("shutdown deadline passed"));
        await Task.WhenAll(served);
    }
}
