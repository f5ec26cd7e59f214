using Ferry.Daemon.Listeners;
using Ferry.Daemon.Services.Fanout;

namespace Ferry.Daemon.Services.Chat;

/// <summary>A chat listener's options: framing and slow-consumer limits.</summary>
internal sealed record ChatOptions(LineOptions Lines, OutboundLimits Limits)
{
    public static ChatOptions Read(OptionReader reader) =>
        new(LineOptions.Read(reader), OutboundLimits.Read(reader, OutboundLimits.Default));
}
