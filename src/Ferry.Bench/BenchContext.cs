namespace Ferry.Bench;

/// <summary>What every connection of a run shares: the settings, the bytes to send, the clock and each connection's tally (by index).</summary>
internal sealed record BenchContext(BenchSettings Settings, PayloadPattern Pattern, BenchPhase Phase, ConnectionTally[] Tallies)
{
    /// <summary>
    /// Bulk: checks <paramref name="echoed"/>, which continues connection
    /// <paramref name="index"/>'s echo at stream offset <paramref name="received"/>, and counts
    /// it: corrupt bytes at any time, bytes and whole writes while measuring.
    /// </summary>
    public void CheckStreamed(int index, long received, ReadOnlySpan<byte> echoed)
    {
        ConnectionTally tally = Tallies[index];
        int corrupt = Pattern.CountMismatches(index, received, echoed);
        if (corrupt > 0)
            tally.CountCorruption(corrupt);
        if (Phase.Measuring)
            tally.CountStreamed(received, received + echoed.Length, Settings.MessageSize);
    }
}
