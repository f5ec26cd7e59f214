using System.Text;

namespace Ferry.Daemon.Logging;

/// <summary>An <see cref="IUtf8MessageFormat{TState}"/> with its <see cref="Formatter"/>: the same text as a string.</summary>
internal abstract class Utf8MessageFormat<TState> : IUtf8MessageFormat<TState>
{
    protected Utf8MessageFormat() => Formatter = Format;

    /// <summary>The delegate to log with; its target is this format.</summary>
    public Func<TState, Exception?, string> Formatter { get; }

    public abstract bool TryWrite(in TState state, Span<byte> destination, out int written);

    private string Format(TState state, Exception? _)
    {
        var room = new byte[256];
        int written;
        while (!TryWrite(state, room, out written))
            room = new byte[room.Length * 2];
        return Encoding.UTF8.GetString(room, 0, written);
    }
}
