using System.Net.Sockets;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Listening sockets of the configuration a reload replaces, offered to the new one: a listener
/// on the very same endpoint (transport, address and port, or socket path) takes the socket over
/// (no moment without a listener, no backlog lost); the others are closed before anything new is
/// bound, so they cannot be in its way.
/// </summary>
internal sealed class ReusableSockets(IEnumerable<BoundListener> listeners)
{
    private readonly List<BoundListener> _available = listeners.ToList();
    private readonly List<Socket> _taken = [];
    private readonly List<Socket> _closed = [];

    public static ReusableSockets None => new([]);

    /// <summary>The listener whose socket listens on exactly <paramref name="address"/> (<see cref="BoundListener.Address"/>), if there is one; its socket is taken.</summary>
    public BoundListener? Take(string address)
    {
        int index = _available.FindIndex(l => l.Address == address);
        if (index < 0)
            return null;
        var listener = _available[index];
        _available.RemoveAt(index);
        _taken.Add(listener.Socket);
        return listener;
    }

    public bool WasTaken(Socket socket) => _taken.Contains(socket);

    public bool WasClosed(Socket socket) => _closed.Contains(socket);

    /// <summary>Closes the sockets nobody took (a rollback binds their listeners' endpoints again).</summary>
    public void CloseRemaining()
    {
        foreach (var listener in _available)
        {
            _closed.Add(listener.Socket);
            listener.Close();
        }
        _available.Clear();
    }
}
