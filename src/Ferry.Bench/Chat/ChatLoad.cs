using System.Net.Sockets;
using Ferry.Bench.Async;

namespace Ferry.Bench.Chat;

/// <summary>Chat mode's connections: every member connected and moved into a room of this run's own before the clock starts.</summary>
internal sealed class ChatLoad(BenchContext context) : IBenchLoad
{
    private Socket[] _members = [];
    private ChatRoom? _room;

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        BenchSettings settings = context.Settings;
        _members = await BenchSocket.ConnectAllAsync(settings, cancellationToken);
        _room = new ChatRoom(_members, settings.MessageSize, context.Phase, context.Tallies, settings.RatePerConnection);
        await _room.JoinAsync(ChatRoom.NewRoomName(), cancellationToken);
    }

    public Task RunAsync(CancellationToken deadline) => _room!.RunAsync(deadline);

    public void Dispose()
    {
        foreach (Socket member in _members)
            member.Dispose();
    }
}
