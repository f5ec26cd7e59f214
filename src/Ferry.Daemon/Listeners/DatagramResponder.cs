using System.Runtime.InteropServices;
using Ferry.Daemon.Services;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// A udp: listener's answer to each batch of datagrams: the <see cref="DatagramScreen"/> judges
/// the sender, the service writes its reply over the request, the amplification rule (no reply
/// larger than its request unless amplify=on) is applied here for every service alike, and the
/// replies leave in one sendmmsg. Runs on the socket thread that received the batch.
/// </summary>
internal sealed class DatagramResponder(IDatagramService service, ListenerPolicy policy, DatagramCounters counters, TimeProvider time, int port)
{
    private readonly bool _amplify = policy.Datagrams!.Amplify;

    public DatagramScreen Screen { get; } = new(policy, time, port);

    public void Answer(DatagramBatch batch, int count, SafeHandle socket)
    {
        for (int slot = 0; slot < count; slot++)
        {
            int length = batch.Length(slot);
            counters.Receive(length);
            if (Screen.Judge(batch.Sender(slot)) is { } drop)
            {
                counters.Drop(drop);
                continue;
            }
            int reply = service.Answer(batch.Buffer(slot), length, new DatagramPeer(batch.Sender(slot), batch.Control(slot), socket, counters));
            if (reply < 0)
                continue;
            if (reply > length && !_amplify)
            {
                counters.Drop(Screen.Dropped(batch.Sender(slot), DatagramDrop.Amplification));
                continue;
            }
            batch.Reply(slot, reply);
            counters.Answer(reply);
        }
        int queued = batch.RepliesQueued;
        if (queued == 0)
            return;
        int unsent = batch.SendReplies(socket, out _);
        // Unsent replies are the last ones queued when the send buffer filled (the usual case).
        for (int reply = queued - unsent; reply < queued; reply++)
            counters.Unsent(batch.ReplyLength(reply));
    }
}
