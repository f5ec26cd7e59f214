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
/// comes back is sent to the client from the listener's socket, as if the listener answered.
/// </summary>
internal sealed class DatagramSession : IEpollTarget
{
    /// <summary>One receive buffer per loop thread: sessions are many, datagrams on a loop one at a time.</summary>
    [ThreadStatic]
    private static byte[]? t_buffer;

    private readonly Socket _socket;
    private readonly byte[] _client;
    private readonly SafeHandle _listener;
    private readonly DatagramCounters _counters;
    private readonly Action<DatagramSession, int> _failed;
    private readonly TimeProvider _time;
    private EpollLoop? _loop;
    private int _slot;
    private long _lastActive;

    private DatagramSession(Socket socket, IPEndPoint upstream, ReadOnlySpan<byte> client, SafeHandle listener,
        DatagramCounters counters, Action<DatagramSession, int> failed, TimeProvider time)
    {
        _socket = socket;
        Upstream = upstream;
        _client = client.ToArray();
        _listener = listener;
        _counters = counters;
        _failed = failed;
        _time = time;
        _lastActive = time.GetTimestamp();
    }

    public IPEndPoint Upstream { get; }

    /// <summary>When a datagram last went either way (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long LastActive => Volatile.Read(ref _lastActive);

    /// <summary>A session to <paramref name="upstream"/> for the client at <paramref name="client"/>; <paramref name="failed"/> hears of an errno that ends it.</summary>
    public static DatagramSession Open(IPEndPoint upstream, ReadOnlySpan<byte> client, DatagramPeer peer,
        Action<DatagramSession, int> failed, TimeProvider time)
    {
        var socket = new Socket(upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
        try
        {
            socket.Connect(upstream);
            var session = new DatagramSession(socket, upstream, client, peer.Socket, peer.Counters, failed, time);
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

    /// <summary>The client's datagram to the upstream, without waiting: false with the errno when it could not go.</summary>
    public unsafe bool Send(ReadOnlySpan<byte> datagram, out int errno)
    {
        Volatile.Write(ref _lastActive, _time.GetTimestamp());
        fixed (byte* data = datagram)
        {
            try
            {
                errno = SocketCalls.Send(_socket.SafeHandle, data, datagram.Length, SocketCalls.DontWait | SocketCalls.NoSignal) >= 0 ? 0 : Errno.Last;
            }
            catch (ObjectDisposedException)
            {
                errno = Errno.BadDescriptor;
            }
        }
        return errno == 0;
    }

    /// <summary>The upstream's replies, each to the client from the listener's socket.</summary>
    public unsafe void OnEvents(uint events, EpollLoop loop)
    {
        byte[] buffer = t_buffer ??= new byte[DatagramBatch.SlotCapacity];
        fixed (byte* data = buffer)
        fixed (byte* client = _client)
        {
            while (true)
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
                    if (errno is not (Errno.WouldBlock or Errno.Interrupted))
                        _failed(this, errno);   // ECONNREFUSED: the upstream's port is closed (ICMP port unreachable)
                    if (errno != Errno.Interrupted)
                        return;
                    continue;
                }
                Volatile.Write(ref _lastActive, _time.GetTimestamp());
                _counters.Answer((int)length);
                try
                {
                    if (SocketCalls.SendTo(_listener, data, length, SocketCalls.DontWait | SocketCalls.NoSignal, client, _client.Length) < 0)
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
