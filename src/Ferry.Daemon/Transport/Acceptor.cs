using System.Net;
using System.Net.Sockets;
using Ferry.Platform.Linux;
using Ferry.Platform.Net;

namespace Ferry.Daemon.Transport;

/// <summary>
/// Accepts on one listening socket from every <see cref="EpollLoop"/>: registered level-triggered
/// with EPOLLEXCLUSIVE in each, so one loop wakes per new peer and accepts it with accept4
/// (non-blocking and close-on-exec from the start, the peer's address with it: no further calls),
/// and the connection stays on that loop. No thread hop between accept and service, where the
/// runtime's sockets took three.
/// </summary>
/// <remarks>
/// Out of descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM), accept would fail
/// at once again and again: the acceptor leaves the loops for the pause its owner asks for, and
/// the peers wait in the backlog meanwhile.
/// </remarks>
internal sealed class Acceptor(Socket listening, Action<AcceptedPeer> accepted, Func<int, TimeSpan> failed) : IEpollTarget, IListenerIntake
{
    /// <summary>Accepts per wake-up at most, so one busy listener cannot keep a loop from its connections.</summary>
    private const int AcceptsPerWake = 64;

    private readonly Lock _gate = new();
    private readonly Dictionary<EpollLoop, int> _slots = [];
    private bool _stopped = true;
    private long _pauses;

    /// <summary>Starts accepting on every loop.</summary>
    public void Start()
    {
        // Level-triggered and shared by the loops: accept must say EAGAIN when the backlog is
        // empty (another loop took the peer), never block a loop.
        listening.Blocking = false;
        lock (_gate)
        {
            _stopped = false;
            RegisterEverywhere();
        }
    }

    /// <summary>Stops accepting; the socket stays open (peers wait in its backlog).</summary>
    public void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
            _pauses++;
            UnregisterEverywhere();
        }
    }

    public unsafe void OnEvents(uint events, EpollLoop loop)
    {
        byte* address = stackalloc byte[SocketCalls.AddressCapacity];
        for (int accepts = 0; accepts < AcceptsPerWake; accepts++)
        {
            int length = SocketCalls.AddressCapacity;
            int descriptor;
            try
            {
                descriptor = SocketCalls.Accept(listening.SafeHandle, address, &length, SocketCalls.NonBlockingCloseOnExec);
            }
            catch (ObjectDisposedException)
            {
                return; // the listener closed under us
            }
            if (descriptor >= 0)
            {
                // A bound Unix peer's address is longer than the room given: the kernel says its whole length.
                EndPoint? peer = (EndPoint?)SocketAddressBytes.ToEndPoint(new ReadOnlySpan<byte>(address, Math.Min(length, SocketCalls.AddressCapacity)))
                    ?? UnixPeer.Of(descriptor);
                if (peer is null)
                    DescriptorCalls.Close(descriptor); // not a family ferryd serves
                else
                    accepted(new AcceptedPeer(descriptor, peer, loop));
                continue;
            }
            int errno = Errno.Last;
            switch (errno)
            {
                case Errno.WouldBlock:
                    return;
                case Errno.TooManyFiles or Errno.TooManyFilesInSystem or Errno.NoBufferSpace or Errno.OutOfMemory:
                    PauseFor(failed(errno));
                    return;
                default:
                    // ECONNABORTED, EPROTO, EINTR and the like: that peer left while in the backlog; the next one is fine.
                    continue;
            }
        }
    }

    /// <summary>Leaves the loops for <paramref name="pause"/>, then comes back (unless stopped meanwhile).</summary>
    private void PauseFor(TimeSpan pause)
    {
        long pauses;
        lock (_gate)
        {
            if (_stopped)
                return;
            UnregisterEverywhere();
            pauses = ++_pauses;
        }
        _ = ResumeAfterAsync(pause, pauses);
    }

    private async Task ResumeAfterAsync(TimeSpan pause, long pauses)
    {
        await Task.Delay(pause);
        lock (_gate)
        {
            if (!_stopped && _pauses == pauses)
                RegisterEverywhere();
        }
    }

    private void RegisterEverywhere()
    {
        foreach (var loop in EpollLoop.All)
        {
            if (!_slots.ContainsKey(loop))
                _slots[loop] = loop.Register(this, listening.SafeHandle, Epoll.In | Epoll.Exclusive);
        }
    }

    private void UnregisterEverywhere()
    {
        foreach (var (loop, slot) in _slots)
        {
            try
            {
                loop.Unregister(slot, this, listening.SafeHandle);
            }
            catch (ObjectDisposedException)
            {
                loop.Forget(slot, this); // closed already: the epoll sets dropped it by themselves
            }
        }
        _slots.Clear();
    }
}
