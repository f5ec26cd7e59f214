using System.Net;
using System.Net.Sockets;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Listening sockets of the configuration a reload replaces, offered to the new one: a listener
/// on the very same endpoint takes the socket over (no moment without a listener, no backlog
/// lost); the others are closed before anything new is bound, so they cannot be in its way.
/// </summary>
internal sealed class ReusableSockets(IEnumerable<Socket> sockets)
{
    private readonly List<Socket> _available = sockets.ToList();
    private readonly List<Socket> _taken = [];
    private readonly List<(Socket Socket, IPEndPoint EndPoint)> _closed = [];

    public static ReusableSockets None => new([]);

    /// <summary>The socket listening on exactly <paramref name="endpoint"/>, if there is one; never for port 0.</summary>
    public Socket? Take(IPEndPoint endpoint)
    {
        if (endpoint.Port == 0)
            return null;
        int index = _available.FindIndex(s => s.LocalEndPoint is IPEndPoint bound && bound.Equals(endpoint));
        if (index < 0)
            return null;
        var socket = _available[index];
        _available.RemoveAt(index);
        _taken.Add(socket);
        return socket;
    }

    public bool WasTaken(Socket socket) => _taken.Contains(socket);

    public bool WasClosed(Socket socket) => _closed.Any(c => ReferenceEquals(c.Socket, socket));

    /// <summary>Closes the sockets nobody took, remembering where they listened (for a rollback).</summary>
    public void CloseRemaining()
    {
        foreach (var socket in _available)
        {
            _closed.Add((socket, (IPEndPoint)socket.LocalEndPoint!));
            socket.Dispose();
        }
        _available.Clear();
    }
}
