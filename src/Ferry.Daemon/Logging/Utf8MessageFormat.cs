using System.Text;

namespace Ferry.Daemon.Logging;

/// <summary>
/// A message format that writes its message straight to UTF-8. It is the target of the formatter
/// delegate passed to <see cref="Microsoft.Extensions.Logging.ILogger.Log{TState}"/>: any logger
/// gets the message as a string from that delegate (<see cref="Formatter"/>), and ferryd's own
/// (<see cref="LevelRouting"/>'s <see cref="LogFile"/>) finds the format by it (<see cref="Of"/>)
/// and has it write the message into the line, with no string between. A state type has one
/// format: a second is refused.
/// </summary>
internal abstract class Utf8MessageFormat<TState>
{
    private static Utf8MessageFormat<TState>? s_format;

    protected Utf8MessageFormat()
    {
        Formatter = Format;
        if (Interlocked.CompareExchange(ref s_format, this, null) is not null)
            throw new InvalidOperationException($"{typeof(TState).Name} has a format already");
    }

    /// <summary>The delegate to log with.</summary>
    public Func<TState, Exception?, string> Formatter { get; }

    /// <summary>
    /// The format whose <see cref="Formatter"/> <paramref name="formatter"/> is, or null for a
    /// message of another kind. Looked up by the state's type: asking the delegate for its target
    /// costs more than the rest of the check.
    /// </summary>
    public static Utf8MessageFormat<TState>? Of(Func<TState, Exception?, string> formatter) =>
        s_format is { } format && ReferenceEquals(format.Formatter, formatter) ? format : null;

    /// <summary>Writes the message, or returns false when <paramref name="destination"/> is too short for it.</summary>
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
