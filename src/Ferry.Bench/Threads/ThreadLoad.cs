using System.Net.Sockets;
using Ferry.Bench.Async;

namespace Ferry.Bench.Threads;

/// <summary>
/// The threads engine, the client style of ferry, socat and most real clients: blocking .NET
/// sockets and a thread per connection (and per direction where both directions run at once,
/// as in bulk). Connections are opened before the run, one at a time; connect mode opens its
/// own per cycle, after one trial connection that fails fast on a wrong address.
/// </summary>
/// <param name="connection">Runs connection <c>index</c> (its socket, or null in connect mode) on its own thread until the run stops.</param>
internal sealed class ThreadLoad(BenchContext context, Action<BenchContext, int, Socket?, BlockingDeadline> connection) : IBenchLoad
{
    // Threads mostly wait in system calls; a small stack keeps a few hundred of them cheap.
    private const int StackBytes = 256 * 1024;

    private readonly List<Socket> _sockets = [];

    public Task OpenAsync(CancellationToken cancellationToken)
    {
        BenchSettings settings = context.Settings;
        int count = settings.ConnectsPerCycle ? 1 : settings.Connections;
        for (int i = 0; i < count && !cancellationToken.IsCancellationRequested; i++)
        {
            try
            {
                _sockets.Add(BlockingSocket.Connect(settings.Target, settings.Transport));
            }
            catch (SocketException exception)
            {
                throw settings.ConnectFailed(BenchSocket.Describe(exception));
            }
        }
        if (settings.ConnectsPerCycle)
            Dispose();
        return Task.CompletedTask;
    }

    public async Task RunAsync(CancellationToken deadline)
    {
        using var blockingDeadline = new BlockingDeadline(context.Settings.Connections, deadline);
        string mode = BenchSettings.NameOf(context.Settings.Mode);
        await Task.WhenAll(Enumerable.Range(0, context.Settings.Connections).Select(index => DedicatedThread.Start(
            $"ferry-bench {mode} {index}",
            () => connection(context, index, _sockets.Count > 0 ? _sockets[index] : null, blockingDeadline),
            StackBytes)));
    }

    public void Dispose()
    {
        foreach (Socket socket in _sockets)
            socket.Dispose();
        _sockets.Clear();
    }
}
