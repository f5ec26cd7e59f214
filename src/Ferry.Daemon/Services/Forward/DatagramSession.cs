using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Transport;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Services.Forward;

/// <summary>
/// One client of a udp: forward: a UDP socket of its own connected to the upstream chosen for it
/// (so the upstream's replies, and its ICMP errors, reach this session alone), registered on the
/// loop that received the client's first datagram. The client's datagrams go out on it; what
/// comes back is sent to the client from the listener's socket, with the control messages of the
/// client's first datagram (the address it wrote to, on a listener bound to every address), as
/// if the listener answered.
/// </summary>
internal sealed class DatagramSession : IEpollTarget
{
    /// <summary>Replies per wake-up at most, so an upstream that floods cannot keep its loop from the rest.</summary>
    private const int RepliesPerWake = 64;

    /// <summary>One receive buffer per loop thread: sessions are many, datagrams on a loop one at a time.</summary>
    [ThreadStatic]
    private static byte[]? t_buffer;

    private readonly Socket _socket;
    private readonly byte[] _client;
    private readonly byte[] _control;
    private readonly SafeHandle _listener;
    private readonly DatagramCounters _counters;
    private readonly Action<DatagramSession> _refused;
    private readonly TimeProvider _time;
    private EpollLoop? _loop;
    private int _slot;
    private long _lastActive;

    private DatagramSession(object key, Socket socket, IPEndPoint upstream, DatagramPeer peer, Action<DatagramSession> refused, TimeProvider time)
    {
        Key = key;
        _socket = socket;
        Upstream = upstream;
        _client = peer.Address.ToArray();
        _control = peer.Control.ToArray();
        _listener = peer.Socket;
        _counters = peer.Counters;
        _refused = refused;
        _time = time;
        _lastActive = time.GetTimestamp();
    }

    /// <summary>Its client's key in the session table.</summary>
    public object Key { get; }

    public IPEndPoint Upstream { get; }

    /// <summary>When a datagram last went either way (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long LastActive => Volatile.Read(ref _lastActive);

    public void Touch() => Volatile.Write(ref _lastActive, _time.GetTimestamp());

    /// <summary>
    /// A session to <paramref name="upstream"/> for <paramref name="peer"/>; <paramref name="refused"/>
    /// hears of the upstream's "port unreachable", which ends it. Throws <see cref="SocketException"/>
    /// or <see cref="IOException"/> when no socket can be had (out of descriptors, no route).
    /// </summary>
    public static DatagramSession Open(object key, IPEndPoint upstream, DatagramPeer peer, Action<DatagramSession> refused, TimeProvider time)
    {
        var socket = new Socket(upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Blocking = false;
            socket.Connect(upstream);
            var session = new DatagramSession(key, socket, upstream, peer, refused, time);
            session._loop = EpollLoop.Current ?? EpollLoop.Next();
            session._slot = session._loop.Register(session, socket.SafeHandle, Epoll.In);
            return session;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The client's datagram to the upstream, without waiting: 0, or the errno.</summary>
    public unsafe int Send(ReadOnlySpan<byte> datagram)
    {
        Touch();
        fixed (byte* data = datagram)
        {
            try
            {
                return SocketCalls.Send(_socket.SafeHandle, data, datagram.Length, SocketCalls.DontWait | SocketCalls.NoSignal) >= 0 ? 0 : Errno.Last;
            }
            catch (ObjectDisposedException)
            {
                return Errno.BadDescriptor;
            }
        }
    }

    /// <summary>The upstream's replies, each to the client from the listener's socket.</summary>
    public unsafe void OnEvents(uint events, EpollLoop loop)
    {
        byte[] buffer = t_buffer ??= new byte[DatagramBatch.SlotCapacity];
        fixed (byte* data = buffer)
        {
            for (int replies = 0; replies < RepliesPerWake; replies++)
            {
                nint length;
                try
                {
                    length = SocketCalls.Receive(_socket.SafeHandle, data, buffer.Length, SocketCalls.DontWait);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                if (length < 0)
                {
                    int errno = Errno.Last;
                    if (errno == Errno.Interrupted)
                        continue;
                    // ECONNREFUSED: the upstream's port is closed (ICMP port unreachable). Any
                    // other error was this one datagram's: the session goes on.
                    if (errno == Errno.ConnectionRefused)
                        _refused(this);
                    return;
                }
                Touch();
                _counters.Answer((int)length);
                try
                {
                    if (DatagramBatch.SendOne(_listener, new ReadOnlySpan<byte>(data, (int)length), _client, _control) != 0)
                        _counters.Unsent((int)length);
                }
                catch (ObjectDisposedException)
                {
                    return;  // the listener closed: its sessions go with it
                }
            }
        }
    }

    public void Close()
    {
        if (_loop is { } loop)
        {
            try
            {
                loop.Unregister(_slot, this, _socket.SafeHandle);
            }
            catch (ObjectDisposedException)
            {
                loop.Forget(_slot, this);
            }
        }
        _socket.Dispose();
    }
}
