using System.Diagnostics;
using Ferry.Bench.Native;
using Ferry.Client;
using Ferry.Platform.Linux;
using EpollFlags = Ferry.Platform.Linux.Epoll;

namespace Ferry.Bench.Epoll;

/// <summary>
/// Opens the epoll engine's long-lived connections before the run, one at a time: starts a
/// non-blocking connect, waits for that socket to become writable, and registers it for
/// reading. A refused or timed-out connect ends the run with one clear line.
/// </summary>
internal sealed class EpollConnector(BenchSettings settings, EpollSet epoll)
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    private readonly byte[] _address = NativeSocket.AddressOf(settings.Target);

    /// <summary>A connected socket registered for reading under <paramref name="tag"/>.</summary>
    public int Connect(int tag)
    {
        int fd = NonBlockingConnect.Start(_address, out int error, out bool connected);
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
            long giveUp = Stopwatch.GetTimestamp() + (long)(ConnectTimeout.TotalSeconds * Stopwatch.Frequency);
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
