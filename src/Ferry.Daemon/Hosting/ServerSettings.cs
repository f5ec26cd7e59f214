using Ferry.Daemon.Listeners;
using Ferry.Daemon.Logging;

namespace Ferry.Daemon.Hosting;

/// <summary>Everything a ferryd run needs, merged and validated by <see cref="SettingsLoader"/>.</summary>
internal sealed record ServerSettings(
    IReadOnlyList<ListenerSettings> Listeners,
    LogSettings Logging,
    TimeSpan ShutdownTimeout)
{
    /// <summary>Null: the default for the user (<see cref="PidFile.DefaultPath"/>).</summary>
    public string? PidFile { get; init; }

    /// <summary>Where the Prometheus endpoint listens (<c>--metrics</c>, <c>Metrics:Endpoint</c>); null: none.</summary>
    public Metrics.MetricsAddress? Metrics { get; init; }

    /// <summary>The config file these settings came from, if any.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>What they were made from; a reload loads settings from it again.</summary>
    public SettingsLoader.CommandLineValues? Source { get; init; }
}
