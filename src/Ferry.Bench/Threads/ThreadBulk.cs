using System.Net.Sockets;
using Ferry.Bench.Async;

namespace Ferry.Bench.Threads;

/// <summary>
/// Bulk on the threads engine, as ferry and socat copy both ways: per connection a writer
/// thread sends the pattern in <c>--size</c>-byte blocking writes while a reader thread (the
/// connection's own) blocks in recv and checks every echoed byte. When the run stops the
/// writer half-closes and the reader reads to the server's end of stream, so every byte sent
/// is accounted for.
/// </summary>
internal static class ThreadBulk
{
    private const int ReceiveBufferSize = 64 * 1024;
    private const string DeadlineError = "echo not finished before the run's deadline";

    public static void Run(BenchContext context, int index, Socket? socket, BlockingDeadline deadline)
    {
        ConnectionTally tally = context.Tallies[index];
        if (!deadline.Watch(index, socket!))
            return;
        var writer = new Writer(context, index, socket!);
        var writing = new Thread(writer.Run) { IsBackground = true, Name = $"ferry-bench writer {index}" };
        writing.Start();

        long received = 0;
        string? readFailure = null;
        var buffer = new byte[ReceiveBufferSize];
        try
        {
            int n;
            while ((n = socket!.Receive(buffer, SocketFlags.None)) > 0)
            {
                context.CheckStreamed(index, received, buffer.AsSpan(0, n));
                received += n;
            }
        }
        catch (SocketException exception)
        {
            readFailure = BenchSocket.Describe(exception);
            // The writer may be blocked on a connection that is broken anyway: release it.
            BlockingSocket.Abort(socket!);
        }
        writing.Join();
        deadline.Forget(index);

        // One failure per connection, the most telling one: the deadline, then what broke the
        // connection, then an echo that ended short.
        string? failure = deadline.Passed ? DeadlineError
            : readFailure ?? writer.Failure
            ?? (received != writer.Sent ? $"echo ended after {received} of {writer.Sent} bytes" : null);
        if (failure is not null)
            tally.CountError(failure);
    }

    /// <summary>The writing half: writes until the run stops, then half-closes. Reports through its fields, read after Join.</summary>
    private sealed class Writer(BenchContext context, int index, Socket socket)
    {
        public long Sent { get; private set; }

        public string? Failure { get; private set; }

        public void Run()
        {
            int writeSize = context.Settings.MessageSize;
            try
            {
                while (!context.Phase.Stopping)
                {
                    BlockingSocket.SendAll(socket, context.Pattern.Slice(index, Sent, writeSize).Span);
                    Sent += writeSize;
                }
                socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
            {
                Failure = exception is SocketException socketException ? BenchSocket.Describe(socketException) : "socket closed";
            }
        }
    }
}
