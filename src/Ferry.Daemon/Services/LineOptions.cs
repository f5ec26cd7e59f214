using Ferry.Daemon.Listeners;
using Ferry.Protocol;

namespace Ferry.Daemon.Services;

/// <summary>The framing options every line service shares: <c>maxLine</c> and <c>overlong</c>.</summary>
internal sealed record LineOptions(int MaxLine, OverlongLinePolicy Overlong)
{
    public const int MaxLineCeiling = 16 * 1024 * 1024;

    public static LineOptions Default { get; } = new(LineFramer.DefaultMaxLineLength, OverlongLinePolicy.Discard);

    public static LineOptions Read(OptionReader reader) => new(
        (int)reader.Integer("maxLine", LineFramer.DefaultMaxLineLength, 1, MaxLineCeiling),
        reader.Choice("overlong", OverlongLinePolicy.Discard, ("discard", OverlongLinePolicy.Discard), ("close", OverlongLinePolicy.Close)));

    /// <summary>The error line a client gets for an over-long line; the same text in every line service.</summary>
    public byte[] TooLongReply() => System.Text.Encoding.ASCII.GetBytes(
        Overlong == OverlongLinePolicy.Close
            ? $"! line too long (max {MaxLine} bytes); closing\n"
            : $"! line too long (max {MaxLine} bytes); discarded\n");
}
