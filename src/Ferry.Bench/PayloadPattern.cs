namespace Ferry.Bench;

/// <summary>
/// The bytes every benchmark connection sends: a repeating ramp 0,1,…,250 whose phase depends
/// on the connection and on the position in its stream. The echo of any stream position can
/// thus be checked without remembering what was sent, and without allocating.
/// </summary>
/// <remarks>
/// The period is prime (251), so a lost, duplicated or reordered chunk shifts the ramp and is
/// caught unless it happens to move by an exact multiple of 251 bytes; and neighbouring
/// connections start at different phases, so bytes crossing between connections are caught too.
/// </remarks>
internal sealed class PayloadPattern
{
    public const int Period = 251;

    // Period + longest slice: any slice of up to MaxLength bytes starting at any phase is a
    // contiguous view of this array, so sends and checks never copy.
    private readonly byte[] _ramp;

    public PayloadPattern(int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        MaxLength = maxLength;
        _ramp = new byte[Period + maxLength];
        for (int i = 0; i < _ramp.Length; i++)
            _ramp[i] = (byte)(i % Period);
    }

    public int MaxLength { get; }

    /// <summary>The bytes at <paramref name="streamOffset"/> of the stream of a connection with <paramref name="seed"/>.</summary>
    public ReadOnlyMemory<byte> Slice(int seed, long streamOffset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaxLength);
        return _ramp.AsMemory(Phase(seed, streamOffset), length);
    }

    /// <summary>
    /// How many bytes of <paramref name="received"/> differ from what the stream of
    /// <paramref name="seed"/> holds at <paramref name="streamOffset"/>. Zero in the common
    /// case is one vectorised comparison.
    /// </summary>
    public int CountMismatches(int seed, long streamOffset, ReadOnlySpan<byte> received)
    {
        int mismatches = 0;
        // Long receives (bulk mode) may exceed one slice; walk them in MaxLength pieces.
        while (!received.IsEmpty)
        {
            int length = Math.Min(received.Length, MaxLength);
            ReadOnlySpan<byte> expected = _ramp.AsSpan(Phase(seed, streamOffset), length);
            ReadOnlySpan<byte> actual = received[..length];
            if (!actual.SequenceEqual(expected))
            {
                for (int i = 0; i < length; i++)
                {
                    if (actual[i] != expected[i])
                        mismatches++;
                }
            }
            received = received[length..];
            streamOffset += length;
        }
        return mismatches;
    }

    private static int Phase(int seed, long streamOffset) =>
        (int)((streamOffset + (uint)seed % Period) % Period);
}
