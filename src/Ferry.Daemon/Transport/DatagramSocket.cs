using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Transport;

/// <summary>
/// Receives a UDP socket's datagrams on one <see cref="EpollLoop"/>: level-triggered, in batches
/// of <see cref="BatchSlots"/> per recvmmsg, each batch handed to <paramref name="received"/>,
/// which answers into the same batch and sends with one sendmmsg. One socket serves every peer,
/// so one loop serves it: datagrams are answered in order, and nothing needs a lock per datagram.
/// </summary>
/// <remarks>
/// The batch (<see cref="BatchSlots"/> × 64 KiB of native memory, touched only as far as datagrams
/// fill it) exists while the socket is served and is freed at <see cref="Stop"/>, under the same
/// gate as the receiving, so it is never freed under the loop.
/// </remarks>
internal sealed class DatagramSocket(Socket socket, Action<DatagramBatch, int, SafeHandle> received, Action<Exception> failed)
    : IEpollTarget, IListenerIntake
{
    public const int BatchSlots = 32;

    /// <summary>Batches per wake-up at most, so a flooded socket cannot keep its loop from the rest.</summary>
    private const int BatchesPerWake = 8;

    private readonly Lock _gate = new();
    private DatagramBatch? _batch;
    private EpollLoop? _loop;
    private int _slot;

    public void Start()
    {
        socket.Blocking = false;
        // Bound to every address: each datagram says which one it came to, and its reply leaves
        // from there (without it the kernel picks the source by routing, and a client that wrote
        // to a secondary address throws the reply away). Failing that, replies still go.
        if (socket.LocalEndPoint is IPEndPoint { Address: var bound } && (bound.Equals(IPAddress.Any) || bound.Equals(IPAddress.IPv6Any)))
            DatagramBatch.ReportDestination(socket);
        lock (_gate)
        {
            if (_loop is not null)
                return;
            _batch = new DatagramBatch(BatchSlots);
            _loop = EpollLoop.Next();
            _slot = _loop.Register(this, socket.SafeHandle, Epoll.In);
        }
    }

    public void Stop()
    {
        lock (_gate)
        {
            if (_loop is null)
                return;
            try
            {
                _loop.Unregister(_slot, this, socket.SafeHandle);
            }
            catch (ObjectDisposedException)
            {
                _loop.Forget(_slot, this);
            }
            _loop = null;
            _batch!.Dispose();
            _batch = null;
        }
    }

    public void OnEvents(uint events, EpollLoop loop)
    {
        lock (_gate)
        {
            if (_batch is null)
                return;
            SafeHandle handle = socket.SafeHandle;
            for (int batches = 0; batches < BatchesPerWake; batches++)
            {
                int count;
                try
                {
                    count = _batch.Receive(handle);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                // 0: nothing waiting; below 0: an error the socket reported (an ICMP error queued
                // for an earlier reply, which a server has no one to tell): the next read goes on.
                if (count == 0)
                    return;
                if (count > 0)
                {
                    try
                    {
                        received(_batch, count, handle);
                    }
                    catch (Exception ex)
                    {
                        // A fault answering one batch must not end the loop thread (and with it
                        // the process): the batch is lost, as UDP may lose it, and it is logged.
                        failed(ex);
                    }
                }
                if (count < _batch.Slots)
                    return;
            }
        }
    }
}
