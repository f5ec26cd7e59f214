using Ferry.Daemon.Listeners;

namespace Ferry.Daemon.Services.Fanout;

/// <summary>
/// Redis-style client output buffer limits for one listener: queued bytes above
/// <see cref="HardLimit"/> cut the client off at once; above <see cref="SoftLimit"/> for
/// <see cref="SoftTime"/> without a break, likewise. A soft limit of 0 turns the soft rule off.
/// </summary>
internal sealed record OutboundLimits(long HardLimit, long SoftLimit, TimeSpan SoftTime)
{
    public const long DefaultHardLimit = 1024 * 1024;
    public const long DefaultSoftLimit = 256 * 1024;
    public const int DefaultSoftSeconds = 10;

    /// <summary>Chat's defaults: lines are small, so a client a megabyte behind is not keeping up.</summary>
    public static OutboundLimits Default { get; } =
        new(DefaultHardLimit, DefaultSoftLimit, TimeSpan.FromSeconds(DefaultSoftSeconds));

    /// <summary>
    /// The broker's defaults: it relays bulk bytes, where one write of a few megabytes is normal
    /// and must not cut a reader that is merely a moment behind.
    /// </summary>
    public static OutboundLimits BulkDefault { get; } =
        new(16 * 1024 * 1024, 4 * 1024 * 1024, TimeSpan.FromSeconds(DefaultSoftSeconds));

    public static OutboundLimits Read(OptionReader reader, OutboundLimits defaults)
    {
        long hard = reader.Size("hardLimit", defaults.HardLimit, 1024, 1L << 34);
        long soft = reader.Size("softLimit", Math.Min(defaults.SoftLimit, hard), 0, 1L << 34);
        int seconds = (int)reader.Integer("softSeconds", (int)defaults.SoftTime.TotalSeconds, 1, 86_400);
        if (soft > hard)
            throw reader.Problem($"softLimit {soft} is above hardLimit {hard}");
        return new OutboundLimits(hard, soft, TimeSpan.FromSeconds(seconds));
    }
}
