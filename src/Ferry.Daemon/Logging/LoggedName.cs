using System.Text;

namespace Ferry.Daemon.Logging;

/// <summary>
/// A name that many lines carry, a listener's: kept in UTF-8 too, so that a line copies its bytes
/// instead of encoding the string each time.
/// </summary>
internal sealed class LoggedName(string text)
{
    public string Text { get; } = text;

    public byte[] Utf8 { get; } = Encoding.UTF8.GetBytes(text);

    public override string ToString() => Text;
}
