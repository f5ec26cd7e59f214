using System.Net.Sockets;

namespace Ferry.Bench.Threads;

/// <summary>
/// The run's deadline for the threads engine, whose calls block: when it passes, every socket
/// a connection has put under it is shut down both ways, so a recv or send waiting on a stalled
/// server returns and a connect in progress fails. The thread then sees <see cref="Passed"/>
/// and charges the deadline, not the socket error it got.
/// </summary>
internal sealed class BlockingDeadline : IDisposable
{
    private readonly Socket?[] _sockets;
    private readonly CancellationToken _deadline;
    private readonly CancellationTokenRegistration _registration;

    public BlockingDeadline(int connections, CancellationToken deadline)
    {
        _sockets = new Socket?[connections];
        _deadline = deadline;
        _registration = deadline.Register(ShutDownAll);
    }

    public bool Passed => _deadline.IsCancellationRequested;

    /// <summary>
    /// Puts connection <paramref name="index"/>'s socket under the deadline before it blocks;
    /// false when the deadline has passed already (then nothing may block any more).
    /// </summary>
    public bool Watch(int index, Socket socket)
    {
        // A full fence between publishing the socket and reading the token: either the
        // deadline's callback sees this socket, or this sees the deadline.
        Interlocked.Exchange(ref _sockets[index], socket);
        return !Passed;
    }

    public void Forget(int index) => Volatile.Write(ref _sockets[index], null);

    public void Dispose() => _registration.Dispose();

    private void ShutDownAll()
    {
        for (int i = 0; i < _sockets.Length; i++)
        {
            if (Volatile.Read(ref _sockets[i]) is Socket socket)
                BlockingSocket.Abort(socket);
        }
    }
}
