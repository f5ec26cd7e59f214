using Ferry.Daemon.Services.Fanout;

namespace Ferry.Daemon.Services.Chat;

/// <summary>One connected chat user. Nick and room change only under the hub's lock.</summary>
internal sealed class ChatClient(string nick, string peer, OutboundQueue queue) : IConnectionDescription
{
    public string Nick { get; set; } = nick;

    public string Room { get; set; } = ChatNames.Lobby;

    public string Peer { get; } = peer;

    public OutboundQueue Queue { get; } = queue;

    long IConnectionDescription.QueuedBytes => Queue.QueuedBytes;

    /// <summary>Queues a line for this client alone; <paramref name="text"/> gets its '\n' here.</summary>
    public void Tell(string text) => Queue.TryEnqueue(ChatLine.Encode(text));
}
