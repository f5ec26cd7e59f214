using Ferry.Bench.Native;
using Ferry.Platform.Linux;
using EpollFlags = Ferry.Platform.Linux.Epoll;

namespace Ferry.Bench.Epoll;

/// <summary>
/// The epoll engine: every connection of the run on one thread and one epoll set, non-blocking
/// system calls, nothing allocated per message. This is its one loop (wait, hand each event to
/// the mode's <see cref="IEpollHandler"/>, stop when every connection is retired or the
/// deadline passes); what an event means is the mode's business.
/// </summary>
internal sealed class EpollDriver : IBenchLoad
{
    /// <summary>How long a wait may take when a mode has nothing to do in between: bounds how late the deadline is seen.</summary>
    public const int WaitMilliseconds = 50;

    private readonly EpollConnections _connections;
    private readonly IEpollHandler _handler;

    public EpollDriver(BenchContext context, Func<EpollConnections, IEpollHandler> handlerFor)
    {
        _connections = new EpollConnections(context);
        _handler = handlerFor(_connections);
    }

    /// <summary>
    /// Connects every connection before the run, one at a time so no listen backlog overflows
    /// (connect mode: one trial connection, so a wrong address fails fast); a failure ends the run.
    /// </summary>
    public Task OpenAsync(CancellationToken cancellationToken)
    {
        var connector = new EpollConnector(_connections.Settings, _connections.Epoll);
        if (_connections.Settings.ConnectsPerCycle)
        {
            NativeSocket.Close(connector.Connect(tag: 0));
            return Task.CompletedTask;
        }
        foreach (EpollConnection connection in _connections.All)
            connection.Attach(connector.Connect(connection.Index), EpollFlags.In);
        return Task.CompletedTask;
    }

    public Task RunAsync(CancellationToken deadline) =>
        DedicatedThread.Start($"ferry-bench epoll {BenchSettings.NameOf(_connections.Settings.Mode)}", () => Run(deadline));

    public void Dispose() => _connections.Dispose();

    private void Run(CancellationToken deadline)
    {
        foreach (EpollConnection connection in _connections.All)
            _handler.Start(connection);

        EpollSet epoll = _connections.Epoll;
        while (_connections.Active > 0)
        {
            if (deadline.IsCancellationRequested)
            {
                foreach (EpollConnection connection in _connections.All)
                {
                    if (connection.Fd >= 0)
                        _connections.TallyOf(connection).CountError(_handler.DeadlineError);
                }
                return;
            }
            int count = epoll.Wait(_handler.BeforeWait());
            for (int e = 0; e < count; e++)
            {
                EpollConnection connection = _connections.All[epoll.TagAt(e)];
                // An earlier event of this batch may have closed it.
                if (connection.Fd >= 0)
                    _handler.OnReady(connection, epoll.EventsAt(e));
            }
        }
    }
}
