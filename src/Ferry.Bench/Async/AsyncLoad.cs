using System.Net.Sockets;

namespace Ferry.Bench.Async;

/// <summary>
/// The async engine: .NET sockets and one async loop per connection (every mode, every
/// platform). Connections are opened before the run, a few at a time; connect mode opens its
/// own per cycle, after one trial connection that fails fast on a wrong address.
/// </summary>
/// <param name="connection">Runs connection <c>index</c> (its socket, or null in connect mode) until the run stops.</param>
internal sealed class AsyncLoad(BenchContext context, Func<BenchContext, int, Socket?, CancellationToken, Task> connection) : IBenchLoad
{
    private Socket[] _sockets = [];

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        if (context.Settings.ConnectsPerCycle)
            (await BenchSocket.ConnectOrFailAsync(context.Settings, cancellationToken)).Dispose();
        else
            _sockets = await BenchSocket.ConnectAllAsync(context.Settings, cancellationToken);
    }

    public Task RunAsync(CancellationToken deadline) =>
        Task.WhenAll(Enumerable.Range(0, context.Settings.Connections)
            .Select(index => connection(context, index, _sockets.Length > 0 ? _sockets[index] : null, deadline)));

    public void Dispose()
    {
        foreach (Socket socket in _sockets)
            socket.Dispose();
    }
}
