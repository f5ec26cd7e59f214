using Ferry.Bench.Reports;
using HdrHistogram;

namespace Ferry.Bench;

/// <summary>
/// What one connection has done. Written only by the thread or loop that drives it; the
/// progress display reads the counters from another thread, hence the volatile accessors (a
/// torn read of a 64-bit counter cannot happen on 64-bit platforms, but a stale one could).
/// </summary>
internal sealed class ConnectionTally
{
    private long _messages;
    private long _bytes;
    private long _errors;
    private long _corruptBytes;
    private long _lost;
    private long _late;

    public ConnectionTally(bool recordsLatency)
    {
        Latency = recordsLatency ? LatencyHistogram.Create() : null;
    }

    /// <summary>Latencies in nanoseconds of the messages completed while measuring.</summary>
    public HistogramBase? Latency { get; }

    /// <summary>Messages (connections, in connect mode; whole writes, in bulk) completed while measuring.</summary>
    public long Messages => Volatile.Read(ref _messages);

    /// <summary>Echoed bytes received while measuring.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Failures at any time, warm-up included: corrupt echoes, resets, early closes, failed connects.</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Echoed bytes that differed from what was sent, at any time.</summary>
    public long CorruptBytes => Volatile.Read(ref _corruptBytes);

    /// <summary>UDP: datagrams whose echo did not come within the loss timeout, counted as lost while measuring.</summary>
    public long Lost => Volatile.Read(ref _lost);

    /// <summary>UDP: echoes that came after their datagram was counted as lost, seen while measuring (not counted as messages).</summary>
    public long Late => Volatile.Read(ref _late);

    /// <summary>The first failure's description, for the report.</summary>
    public string? FirstError { get; private set; }

    public void CountMessage(int bytes)
    {
        Volatile.Write(ref _messages, _messages + 1);
        Volatile.Write(ref _bytes, _bytes + bytes);
    }

    /// <summary>
    /// One message's whole echo is back and checked: counts its corrupt bytes, and while the
    /// phase is measuring, the message and its latency from <paramref name="startTimestamp"/>.
    /// </summary>
    public void CountEcho(int size, int corruptBytes, long startTimestamp, long endTimestamp, BenchPhase phase)
    {
        if (corruptBytes > 0)
            CountCorruption(corruptBytes);
        if (phase.Measuring)
        {
            CountMessage(size);
            LatencyHistogram.RecordElapsed(Latency!, startTimestamp, endTimestamp);
        }
    }

    /// <summary>
    /// Bulk: the echoed stream has grown from <paramref name="from"/> to <paramref name="to"/>
    /// bytes while measuring. Counts the bytes, and as messages the writes of
    /// <paramref name="writeSize"/> bytes whose echo is now whole.
    /// </summary>
    public void CountStreamed(long from, long to, int writeSize)
    {
        Volatile.Write(ref _bytes, _bytes + (to - from));
        Volatile.Write(ref _messages, _messages + (to / writeSize - from / writeSize));
    }

    /// <summary>UDP: a datagram given up after the loss timeout; counted while the phase is measuring.</summary>
    public void CountLost(BenchPhase phase)
    {
        if (phase.Measuring)
            Volatile.Write(ref _lost, _lost + 1);
    }

    /// <summary>UDP: the echo of a datagram given up came after all; its corrupt bytes count at any time, the late echo while measuring.</summary>
    public void CountLate(int corruptBytes, BenchPhase phase)
    {
        if (corruptBytes > 0)
            CountCorruption(corruptBytes);
        if (phase.Measuring)
            Volatile.Write(ref _late, _late + 1);
    }

    public void CountCorruption(int corruptBytes)
    {
        Volatile.Write(ref _corruptBytes, _corruptBytes + corruptBytes);
        CountError($"echo differed from what was sent in {corruptBytes} byte(s)");
    }

    public void CountError(string description)
    {
        FirstError ??= description;
        Volatile.Write(ref _errors, _errors + 1);
    }
}
