using System.Threading.Tasks.Sources;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Transport;

namespace Ferry.Daemon.Services;

/// <summary>
/// Echo on a plain socket: its bytes go straight back, receive then send, as a C epoll server
/// does (a <see cref="SocketRelay"/> from the socket to itself: no pipe, no copy). At shutdown
/// what has arrived is echoed, then the relay stops. The relay's end is read as the service's
/// <see cref="CloseReason"/> through this object, with no state machine between: an async
/// method here cost a state machine, a task and its continuation per connection.
/// </summary>
internal sealed class EchoRelay(SocketRelay relay, CancellationToken stopping) : IValueTaskSource<CloseReason>
{
    private readonly IValueTaskSource<DirectionEnd> _relay = relay;

    public static ValueTask<CloseReason> RunAsync(SocketConnection socket, CancellationToken stopping)
    {
        var relay = new SocketRelay(socket, socket);
        var echo = new EchoRelay(relay, stopping);
        return new ValueTask<CloseReason>(echo, relay.Start(stopping));
    }

    public CloseReason GetResult(short token) => _relay.GetResult(token) switch
    {
        DirectionEnd.Finished => CloseReason.PeerClosed,
        DirectionEnd.Stopped => CloseReason.Shutdown,
        // The shutdown deadline cut a stop that was still sending: a shutdown, as on the pipes.
        DirectionEnd.Aborted => stopping.IsCancellationRequested ? CloseReason.Shutdown : CloseReason.Aborted,
        _ => CloseReason.PeerReset,
    };

    public ValueTaskSourceStatus GetStatus(short token) => _relay.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _relay.OnCompleted(continuation, state, token, flags);
}
