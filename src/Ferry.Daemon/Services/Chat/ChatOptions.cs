using Ferry.Daemon.Services.Fanout;

namespace Ferry.Daemon.Services.Chat;

/// <summary>A chat listener's options: framing and slow-consumer limits.</summary>
internal sealed record ChatOptions(LineOptions Lines, OutboundLimits Limits)
{
    public static ChatOptions From(ServiceContext context)
    {
        context.AllowOnly([.. LineOptions.Keys, .. OutboundLimits.Keys]);
        return new ChatOptions(LineOptions.From(context), OutboundLimits.From(context, OutboundLimits.Default));
    }
}
