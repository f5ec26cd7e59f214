using System.Buffers.Binary;

namespace Ferry.Bench.Datagrams;

/// <summary>
/// One UDP sender's datagrams and the check of what comes back, the same for every engine.
/// Each datagram starts with its number (8 bytes, little-endian; only the low-order bytes in a
/// datagram shorter than that) and goes on with the sender's <see cref="PayloadPattern"/> at a
/// stream offset that moves on with every datagram, so an echo can be told apart without
/// keeping copies: the echo of the datagram in flight, checked byte by byte; the late echo of
/// one already counted as lost (the last <see cref="RememberedLosses"/> are remembered); or
/// neither. One datagram is in flight at a time.
/// </summary>
internal sealed class DatagramSender
{
    public const int NumberBytes = 8;
    private const int RememberedLosses = 64;

    private readonly int _index;
    private readonly PayloadPattern _pattern;
    private readonly byte[] _datagram;
    private readonly int _numberBytes;
    private readonly ulong _numberMask;
    private readonly long[] _lost = new long[RememberedLosses];
    private int _nextLost;

    /// <param name="index">The sender's place in the run: the pattern's seed.</param>
    public DatagramSender(int index, int size, PayloadPattern pattern)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        _index = index;
        _pattern = pattern;
        _datagram = new byte[size];
        _numberBytes = Math.Min(size, NumberBytes);
        _numberMask = _numberBytes == NumberBytes ? ulong.MaxValue : (1UL << (8 * _numberBytes)) - 1;
        Array.Fill(_lost, -1);
        Prepare();
    }

    /// <summary>The number of the datagram in flight (or about to be sent).</summary>
    public long Number { get; private set; }

    /// <summary>When the exchange of the datagram in flight started: its latency and loss timeout run from here.</summary>
    public long StartTimestamp { get; set; }

    /// <summary>The bytes of datagram <see cref="Number"/>.</summary>
    public ReadOnlySpan<byte> Datagram => _datagram;

    public int Size => _datagram.Length;

    /// <summary>Its echo is back: the next datagram is the one in flight.</summary>
    public void Echoed()
    {
        Number++;
        Prepare();
    }

    /// <summary>Its echo did not come within the loss timeout: remembered as lost (its echo may still come), and the next datagram is the one in flight.</summary>
    public void GiveUp()
    {
        _lost[_nextLost] = Number;
        _nextLost = (_nextLost + 1) % RememberedLosses;
        Number++;
        Prepare();
    }

    /// <summary>
    /// What <paramref name="received"/> is. For <see cref="DatagramEcho.InFlight"/> and
    /// <see cref="DatagramEcho.Late"/>, <paramref name="corruptBytes"/> is how many of its bytes
    /// after the number differ from what that datagram carried; a late echo is forgotten once seen.
    /// </summary>
    public DatagramEcho Check(ReadOnlySpan<byte> received, out int corruptBytes)
    {
        corruptBytes = 0;
        if (received.Length != _datagram.Length)
            return DatagramEcho.WrongSize;
        ulong number = ReadNumber(received);
        if (number == ((ulong)Number & _numberMask))
        {
            corruptBytes = CountMismatches(Number, received);
            return DatagramEcho.InFlight;
        }
        for (int i = 0; i < RememberedLosses; i++)
        {
            if (_lost[i] >= 0 && number == ((ulong)_lost[i] & _numberMask))
            {
                corruptBytes = CountMismatches(_lost[i], received);
                _lost[i] = -1;
                return DatagramEcho.Late;
            }
        }
        return DatagramEcho.Stray;
    }

    /// <summary>Fills the datagram of <see cref="Number"/>: its number, then the pattern from its place in the stream.</summary>
    private void Prepare()
    {
        Span<byte> number = stackalloc byte[NumberBytes];
        BinaryPrimitives.WriteInt64LittleEndian(number, Number);
        number[.._numberBytes].CopyTo(_datagram);
        int rest = _datagram.Length - _numberBytes;
        if (rest > 0)
            _pattern.Slice(_index, StreamOffset(Number), rest).Span.CopyTo(_datagram.AsSpan(_numberBytes));
    }

    private int CountMismatches(long number, ReadOnlySpan<byte> received) =>
        _pattern.CountMismatches(_index, StreamOffset(number), received[_numberBytes..]);

    private ulong ReadNumber(ReadOnlySpan<byte> received)
    {
        Span<byte> number = stackalloc byte[NumberBytes];
        number.Clear();
        received[.._numberBytes].CopyTo(number);
        return BinaryPrimitives.ReadUInt64LittleEndian(number);
    }

    /// <summary>Where datagram <paramref name="number"/>'s pattern starts: each datagram takes the next <c>size</c> bytes of the stream.</summary>
    private long StreamOffset(long number) => number * _datagram.Length;
}
