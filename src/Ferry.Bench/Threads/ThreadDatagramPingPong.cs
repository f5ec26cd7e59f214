using System.Diagnostics;
using System.Net.Sockets;
using Ferry.Bench.Async;
using Ferry.Bench.Datagrams;

namespace Ferry.Bench.Threads;

/// <summary>
/// UDP ping-pong on the threads engine (<c>--udp</c>): one thread per sender sends a datagram on
/// its blocking, connected UDP socket and blocks in recv for the echo, as a blocking UDP client
/// (a DNS resolver, a game client) does. The receive timeout (SO_RCVTIMEO) is the loss timeout:
/// when it passes, the datagram is counted as lost and the next one leaves. A late or stray
/// datagram received meanwhile does not restart the timeout: the wait goes on for what is left.
/// </summary>
internal static class ThreadDatagramPingPong
{
    private const int ReceiveBufferSize = 64 * 1024; // more than any datagram, so a long echo is seen whole
    private const string DeadlineError = "datagram still in flight at the run's deadline";

    public static void Run(BenchContext context, int index, Socket? socket, BlockingDeadline deadline)
    {
        (BenchSettings settings, PayloadPattern pattern, BenchPhase phase, ConnectionTally[] tallies) = context;
        ConnectionTally tally = tallies[index];
        var sender = new DatagramSender(index, settings.MessageSize, pattern);
        var buffer = new byte[ReceiveBufferSize];
        long lossTicks = (long)(settings.LossTimeout.TotalSeconds * Stopwatch.Frequency);
        int lossMilliseconds = Milliseconds(lossTicks);
        socket!.ReceiveTimeout = lossMilliseconds;
        if (!deadline.Watch(index, socket))
            return;
        try
        {
            while (!phase.Stopping)
            {
                sender.StartTimestamp = Stopwatch.GetTimestamp();
                socket.Send(sender.Datagram);
                int timeout = lossMilliseconds;
                while (true)
                {
                    int n;
                    try
                    {
                        n = socket.Receive(buffer);
                    }
                    catch (SocketException exception) when (exception.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
                    {
                        n = -1;
                    }
                    long now = Stopwatch.GetTimestamp();
                    if (deadline.Passed)
                    {
                        // The deadline shut the socket down; that, not a datagram, ended the wait.
                        tally.CountError(DeadlineError);
                        return;
                    }
                    if (n >= 0 && Received(sender, buffer.AsSpan(0, n), tally, now, phase))
                        break;
                    long left = sender.StartTimestamp + lossTicks - now;
                    if (n < 0 || left <= 0)
                    {
                        tally.CountLost(phase);
                        sender.GiveUp();
                        break;
                    }
                    // Something else came in: wait for the rest of the datagram's timeout only.
                    timeout = Milliseconds(left);
                    socket.ReceiveTimeout = timeout;
                }
                if (timeout != lossMilliseconds)
                    socket.ReceiveTimeout = lossMilliseconds;
            }
        }
        catch (SocketException exception)
        {
            // ECONNREFUSED: an ICMP "port unreachable" came back for a datagram; nothing listens there.
            tally.CountError(deadline.Passed ? DeadlineError : BenchSocket.Describe(exception));
        }
        finally
        {
            deadline.Forget(index);
        }
    }

    /// <summary>Checks and counts one received datagram; true when it was the echo of the one in flight.</summary>
    private static bool Received(DatagramSender sender, ReadOnlySpan<byte> datagram, ConnectionTally tally, long now, BenchPhase phase)
    {
        switch (sender.Check(datagram, out int corrupt))
        {
            case DatagramEcho.InFlight:
                tally.CountEcho(sender.Size, corrupt, sender.StartTimestamp, now, phase);
                sender.Echoed();
                return true;
            case DatagramEcho.Late:
                tally.CountLate(corrupt, phase);
                return false;
            case DatagramEcho.WrongSize:
                tally.CountError($"an echo of {datagram.Length} bytes came back for a datagram of {sender.Size}");
                return false;
            default:
                tally.CountError("an echo came back that is no datagram this sender has in flight or gave up");
                return false;
        }
    }

    /// <summary>Stopwatch ticks as whole milliseconds for SO_RCVTIMEO, rounded up (0 would mean no timeout).</summary>
    private static int Milliseconds(long ticks) => (int)Math.Max(1, (ticks * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency);
}
