using Ferry.Platform.Linux;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// The process's file-descriptor limit and the share of it kept back from connections.
/// The runtime itself needs descriptors at unpredictable moments (a new thread-pool thread
/// fails without one, and the process dies), and log, sink and certificate files need them
/// too, so connections may not use the last few. Linux hands out the lowest free descriptor,
/// so an accepted socket numbered within the reserve means the process is nearly out.
/// </summary>
internal static class DescriptorLimit
{
    /// <summary>The soft RLIMIT_NOFILE (the runtime raises it to the hard limit at start), or null if unknown.</summary>
    public static long? Current() => ProcessCalls.OpenFilesLimit();

    /// <summary>Descriptors kept back: a sixteenth of the limit, at least 8 and at most 64.</summary>
    public static long Reserve(long limit) => Math.Clamp(limit / 16, 8, 64);
}
