namespace Ferry.Daemon.Transport;

/// <summary>
/// Where a receive lands first, one buffer per thread: a receive may find nothing (a stale
/// edge), and a connection that holds no unconsumed input then holds no memory at all. The
/// reader copies from it what the service does not consume at once; a relay sends straight
/// from it.
/// </summary>
internal static class ReceiveScratch
{
    /// <summary>
    /// Receive this much at once at most. 16 KiB, not 64: on loopback a 64 KiB receive drained the
    /// socket in steps so large that sender and receiver took turns instead of overlapping; bulk
    /// echo went from 0.86× to 1.24× the C server (which receives 64 KiB) and its CPU per MB from
    /// 1.16× to 0.57× of C's, ping-pong unchanged (bench/RESULTS.md, round 5). More receives per MB,
    /// each cheaper; HAProxy's 16 KiB buffers behave alike.
    /// </summary>
    public const int Size = 16 * 1024;

    [ThreadStatic]
    private static byte[]? t_buffer;

    /// <summary>This thread's buffer. Fetched again after every wait: the caller may have moved to another thread.</summary>
    public static byte[] ForThisThread => t_buffer ??= GC.AllocateUninitializedArray<byte>(Size, pinned: true);
}
