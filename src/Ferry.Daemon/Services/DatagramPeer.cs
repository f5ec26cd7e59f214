using System.Runtime.InteropServices;
using Ferry.Daemon.Listeners;

namespace Ferry.Daemon.Services;

/// <summary>
/// Who sent the datagram being answered, for a service that answers later than at once (forward's
/// sessions): the sender's address as the kernel wrote it (a sockaddr_in or sockaddr_in6), the
/// datagram's control messages (the address it was sent to, on a listener bound to every
/// address: a later reply is sent with them), the listener's socket to answer from, and the
/// listener's counts of what it answered.
/// </summary>
internal readonly ref struct DatagramPeer(ReadOnlySpan<byte> address, ReadOnlySpan<byte> control, SafeHandle socket, DatagramCounters counters)
{
    public ReadOnlySpan<byte> Address { get; } = address;

    public ReadOnlySpan<byte> Control { get; } = control;

    public SafeHandle Socket { get; } = socket;

    public DatagramCounters Counters { get; } = counters;
}
