namespace Ferry.Bench;

/// <summary>A snapshot of all connections' counters.</summary>
/// <param name="Lost">UDP: datagrams counted as lost while measuring.</param>
/// <param name="Late">UDP: echoes of lost datagrams that came after all, while measuring.</param>
internal readonly record struct BenchTotals(long Messages, long Bytes, long Errors, long CorruptBytes, long Lost = 0, long Late = 0)
{
    public static BenchTotals Sum(IReadOnlyList<ConnectionTally> tallies)
    {
        long messages = 0, bytes = 0, errors = 0, corrupt = 0, lost = 0, late = 0;
        foreach (ConnectionTally tally in tallies)
        {
            messages += tally.Messages;
            bytes += tally.Bytes;
            errors += tally.Errors;
            corrupt += tally.CorruptBytes;
            lost += tally.Lost;
            late += tally.Late;
        }
        return new BenchTotals(messages, bytes, errors, corrupt, lost, late);
    }
}
