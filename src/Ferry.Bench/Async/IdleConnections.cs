using System.Net.Sockets;

namespace Ferry.Client.Bench;

/// <summary>
/// Idle mode: opens many connections, proves each one live with a single checked echo, then
/// holds them without traffic so the server's memory per idle connection can be read.
/// </summary>
internal sealed class IdleConnections(BenchSettings settings, PayloadPattern pattern, ConnectionTally tally) : IAsyncDisposable
{
    // Enough parallel connects to open thousands in a second without overrunning the
    // server's accept backlog.
    private const int ConnectConcurrency = 32;

    private readonly List<Socket> _sockets = new(settings.Connections);

    public int Count
    {
        get
        {
            lock (_sockets)
                return _sockets.Count;
        }
    }

    /// <summary>Opens and checks all connections; failures are counted, not thrown.</summary>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        int next = -1;
        var workers = new Task[Math.Min(ConnectConcurrency, settings.Connections)];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                byte[] buffer = new byte[settings.MessageSize];
                int index;
                while ((index = Interlocked.Increment(ref next)) < settings.Connections)
                    await OpenOneAsync(index, buffer, cancellationToken);
            }, cancellationToken);
        }
        await Task.WhenAll(workers);
    }

    public async ValueTask DisposeAsync()
    {
        Socket[] sockets;
        lock (_sockets)
        {
            sockets = [.. _sockets];
            _sockets.Clear();
        }
        foreach (Socket socket in sockets)
            socket.Dispose();
        await Task.CompletedTask;
    }

    private async Task OpenOneAsync(int index, byte[] buffer, CancellationToken cancellationToken)
    {
        Socket socket;
        try
        {
            socket = await BenchSocket.ConnectAsync(settings.Target, cancellationToken);
        }
        catch (SocketException exception)
        {
            tally.CountError(BenchSocket.Describe(exception));
            return;
        }

        try
        {
            await BenchSocket.SendAllAsync(socket, pattern.Slice(index, 0, settings.MessageSize), cancellationToken);
            int corrupt = await BenchSocket.ReceiveEchoAsync(
                socket, buffer, settings.MessageSize, pattern, index, 0, cancellationToken);
            if (corrupt < 0)
            {
                tally.CountError("server closed the connection before echoing everything");
                socket.Dispose();
                return;
            }
            if (corrupt > 0)
                tally.CountCorruption(corrupt);
            tally.CountMessage(settings.MessageSize);
        }
        catch (SocketException exception)
        {
            tally.CountError(BenchSocket.Describe(exception));
            socket.Dispose();
            return;
        }
        lock (_sockets)
            _sockets.Add(socket);
    }
}
