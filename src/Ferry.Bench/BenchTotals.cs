namespace Ferry.Bench;

/// <summary>A snapshot of all connections' counters.</summary>
internal readonly record struct BenchTotals(long Messages, long Bytes, long Errors, long CorruptBytes)
{
    public static BenchTotals Sum(IReadOnlyList<ConnectionTally> tallies)
    {
        long messages = 0, bytes = 0, errors = 0, corrupt = 0;
        foreach (ConnectionTally tally in tallies)
        {
            messages += tally.Messages;
            bytes += tally.Bytes;
            errors += tally.Errors;
            corrupt += tally.CorruptBytes;
        }
        return new BenchTotals(messages, bytes, errors, corrupt);
    }
}
