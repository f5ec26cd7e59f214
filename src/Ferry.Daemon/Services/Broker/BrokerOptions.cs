using Ferry.Daemon.Listeners;
using Ferry.Daemon.Services.Fanout;

namespace Ferry.Daemon.Services.Broker;

/// <summary>A broker listener's options: slow-consumer limits (bulk defaults), and the backplane that shares its stream, if any.</summary>
internal sealed record BrokerOptions(OutboundLimits Limits, Backplane.BackplaneOptions? Backplane)
{
    public static BrokerOptions Read(OptionReader reader) =>
        new(OutboundLimits.Read(reader, OutboundLimits.BulkDefault), Services.Backplane.BackplaneOptions.Read(reader));
}
