using System.Diagnostics;
using Ferry.Bench.Native;
using Ferry.Client;
using Ferry.Platform.Linux;
using EpollFlags = Ferry.Platform.Linux.Epoll;

namespace Ferry.Bench.Epoll;

/// <summary>
/// Opens the epoll engine's long-lived connections before the run, one at a time: starts a
/// non-blocking connect, waits for that socket to become writable, and registers it for
/// reading. A refused or timed-out connect ends the run with one clear line. A UDP socket is
/// connected at once (no packet leaves); a Unix socket whose server's backlog is full is tried
/// again until the same timeout.
/// </summary>
internal sealed class EpollConnector(BenchSettings settings, EpollSet epoll)
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    private const int BacklogRetryMilliseconds = 5;

    private readonly byte[] _address = NativeSocket.AddressOf(settings.Target);

    /// <summary>A connected socket registered for reading under <paramref name="tag"/>.</summary>
    public int Connect(int tag)
    {
        long giveUp = Stopwatch.GetTimestamp() + (long)(ConnectTimeout.TotalSeconds * Stopwatch.Frequency);
        int fd, error;
        bool connected = false;
        if (settings.Transport == BenchTransport.Udp)
        {
            fd = NativeSocket.OpenDatagram(_address, out error);
            connected = true;
        }
        else
        {
            // A Unix socket's connect never waits: it fails with EAGAIN while the listen backlog is full.
            while ((fd = NonBlockingConnect.Start(_address, out error, out connected)) < 0
                && error == Errno.WouldBlock && settings.Transport == BenchTransport.Unix && Stopwatch.GetTimestamp() < giveUp)
            {
                Thread.Sleep(BacklogRetryMilliseconds);
            }
        }
        if (fd < 0)
            throw Failed(error);
        try
        {
            if (connected)
            {
                epoll.Add(fd, EpollFlags.In, tag);
                return fd;
            }
            epoll.Add(fd, EpollFlags.Out, tag);
            // Only this socket is registered for writability and the others are idle, so any event is its own.
            while (epoll.Wait(100) == 0)
            {
                if (Stopwatch.GetTimestamp() > giveUp)
                    throw Failed(Errno.TimedOut);
            }
            error = NonBlockingConnect.PendingError(fd);
            if (error != 0)
                throw Failed(error);
            epoll.Modify(fd, EpollFlags.In, tag);
            return fd;
        }
        catch
        {
            NativeSocket.Close(fd);
            throw;
        }
    }

    private CommandFailedException Failed(int errno) => settings.ConnectFailed(SocketErrorText.DescribeErrno(errno));
}
