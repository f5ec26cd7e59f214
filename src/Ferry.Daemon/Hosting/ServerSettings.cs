using Ferry.Daemon.Listeners;
using Ferry.Daemon.Logging;

namespace Ferry.Daemon.Hosting;

/// <summary>Everything a foreground ferryd run needs, parsed and validated from the command line.</summary>
internal sealed record ServerSettings(
    IReadOnlyList<ListenerSpec> Listeners,
    LogSettings Logging,
    TimeSpan ShutdownTimeout)
{
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(5);
}
