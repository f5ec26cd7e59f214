using System.Diagnostics;
using Ferry.Bench.Native;
using Ferry.Platform.Linux;
using EpollFlags = Ferry.Platform.Linux.Epoll;

namespace Ferry.Bench.Epoll;

/// <summary>
/// The epoll engine's connections and what they share: one epoll set, one receive buffer, the
/// payload pattern, the run's phase and the tallies, and the steps every mode takes with them.
/// Used by the driver's thread only.
/// </summary>
internal sealed class EpollConnections : IDisposable
{
    /// <summary>The events that mean "read now": data, an error, or the peer's end.</summary>
    public const uint Readable = EpollFlags.In | EpollFlags.Error | EpollFlags.HangUp;

    private const int ReceiveBufferSize = 64 * 1024;

    private readonly ConnectionTally[] _tallies;

    public EpollConnections(BenchContext context)
    {
        Settings = context.Settings;
        Pattern = context.Pattern;
        Phase = context.Phase;
        _tallies = context.Tallies;
        Epoll = new EpollSet(Math.Min(Settings.Connections, 1024));
        All = Enumerable.Range(0, Settings.Connections).Select(index => new EpollConnection(index)).ToArray();
        Active = All.Length;
    }

    public BenchSettings Settings { get; }

    public PayloadPattern Pattern { get; }

    public BenchPhase Phase { get; }

    public EpollSet Epoll { get; }

    public EpollConnection[] All { get; }

    public byte[] ReceiveBuffer { get; } = new byte[ReceiveBufferSize];

    /// <summary>Connections not retired yet.</summary>
    public int Active { get; private set; }

    public ConnectionTally TallyOf(EpollConnection connection) => _tallies[connection.Index];

    /// <summary>
    /// Sends what the kernel takes of the connection's message or stream, and asks epoll for
    /// writability only while some is left; on a socket error counts it, closes and returns false.
    /// </summary>
    public bool Send(EpollConnection connection)
    {
        if (!connection.TrySend(Pattern, Settings.MessageSize))
        {
            Fail(connection, SocketErrorText.DescribeErrno(connection.Error));
            return false;
        }
        connection.Watch(Epoll, connection.SendPending ? EpollFlags.In | EpollFlags.Out : EpollFlags.In);
        return true;
    }

    /// <summary>
    /// Reads the connection's echo; true once the whole message is back and checked. On the
    /// server's end of stream or a socket error counts the failure and closes.
    /// </summary>
    public bool ReceiveEcho(EpollConnection connection)
    {
        switch (connection.Receive(Pattern, ReceiveBuffer, int.MaxValue))
        {
            case ExchangeStep.Echoed:
                return true;
            case ExchangeStep.PeerClosed:
                Fail(connection, "server closed the connection before echoing everything");
                return false;
            case ExchangeStep.Failed:
                Fail(connection, SocketErrorText.DescribeErrno(connection.Error));
                return false;
            default:
                return false;
        }
    }

    /// <summary>Counts the message just echoed (corrupt bytes, and while measuring the message and its latency); returns when it ended.</summary>
    public long CountEcho(EpollConnection connection)
    {
        long end = Stopwatch.GetTimestamp();
        TallyOf(connection).CountEcho(Settings.MessageSize, connection.TakeCorruptBytes(), connection.StartTimestamp, end, Phase);
        return end;
    }

    public void Fail(EpollConnection connection, string description)
    {
        TallyOf(connection).CountError(description);
        connection.Close();
    }

    /// <summary>Closes the connection for good: the driver stops once every connection is retired.</summary>
    public void Retire(EpollConnection connection)
    {
        connection.Close();
        if (connection.Retired)
            return;
        connection.Retired = true;
        Active--;
    }

    public void Dispose()
    {
        foreach (EpollConnection connection in All)
            connection.Close();
        Epoll.Dispose();
    }
}
