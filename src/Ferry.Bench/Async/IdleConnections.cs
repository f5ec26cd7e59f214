using System.Diagnostics;
using System.Net.Sockets;

namespace Ferry.Bench.Async;

/// <summary>
/// Idle mode: opens many connections, proves each one live with a single checked echo, then
/// holds them without traffic so the server's memory per idle connection can be read.
/// </summary>
internal sealed class IdleConnections(BenchContext context) : IDisposable
{
    private readonly List<Socket> _sockets = new(context.Settings.Connections);

    public int Count
    {
        get
        {
            lock (_sockets)
                return _sockets.Count;
        }
    }

    /// <summary>
    /// Echoes on one connection for the warm-up time, so the server's code paths are loaded
    /// (JIT, pools) before its baseline is read and the growth is the connections' own memory;
    /// then gives the server a moment to finish closing it.
    /// </summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        BenchSettings settings = context.Settings;
        ConnectionTally tally = context.Tallies[0];
        using (Socket warm = await BenchSocket.ConnectOrFailAsync(settings, cancellationToken))
        {
            var buffer = new byte[settings.MessageSize];
            long end = Stopwatch.GetTimestamp() + (long)(settings.Warmup.TotalSeconds * Stopwatch.Frequency);
            long offset = 0;
            do
            {
                int corrupt = await BenchSocket.ExchangeAsync(warm, buffer, settings.MessageSize, context.Pattern, 0, offset, cancellationToken);
                if (corrupt != 0)
                    tally.CountError(corrupt < 0 ? "server closed the warm-up connection" : "warm-up echo differed from what was sent");
                offset += settings.MessageSize;
            }
            while (Stopwatch.GetTimestamp() < end && !cancellationToken.IsCancellationRequested);
        }
        await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
    }

    /// <summary>Opens and checks all connections; failures are counted (each on its connection's tally), not thrown.</summary>
    public Task OpenAsync(CancellationToken cancellationToken) =>
        BenchSocket.ForEachConcurrentlyAsync(context.Settings.Connections, index => OpenOneAsync(index, cancellationToken), cancellationToken);

    public void Dispose()
    {
        lock (_sockets)
        {
            foreach (Socket socket in _sockets)
                socket.Dispose();
            _sockets.Clear();
        }
    }

    private async Task OpenOneAsync(int index, CancellationToken cancellationToken)
    {
        BenchSettings settings = context.Settings;
        ConnectionTally tally = context.Tallies[index];
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
            int corrupt = await BenchSocket.ExchangeAsync(
                socket, new byte[settings.MessageSize], settings.MessageSize, context.Pattern, index, 0, cancellationToken);
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
