using System.Text;

namespace Ferry.Daemon.Logging;

/// <summary>
/// The two lines every connection logs, "open ..." and "close ...": the hottest lines ferryd
/// writes. Each is a state with a format that writes it to UTF-8 without a string
/// (<see cref="IUtf8MessageFormat{TState}"/>), and gives it as a string to any other logger.
/// </summary>
internal static class ConnectionLines
{
    public readonly record struct Opened(string Peer, string Listener, long ConnectionId);

    /// <param name="Detail">What the service adds (forward: the upstream and which side closed first), after a "; ".</param>
    public readonly record struct Closed(string Peer, string Listener, long ConnectionId, string Reason,
        long BytesIn, long BytesOut, long DurationMs, string? Detail);

    public static readonly Func<Opened, Exception?, string> OpenedFormatter = new OpenedFormat().Format;

    public static readonly Func<Closed, Exception?, string> ClosedFormatter = new ClosedFormat().Format;

    private sealed class OpenedFormat : IUtf8MessageFormat<Opened>
    {
        public string Format(Opened line, Exception? _) => AsString(this, line);

        public bool TryWrite(in Opened line, Span<byte> destination, out int written)
        {
            var text = new Utf8LineWriter(destination);
            text.Append("open "u8);
            AppendWho(ref text, line.Peer, line.Listener, line.ConnectionId);
            text.Append("]"u8);
            return text.TryFinish(out written);
        }
    }

    private sealed class ClosedFormat : IUtf8MessageFormat<Closed>
    {
        public string Format(Closed line, Exception? _) => AsString(this, line);

        public bool TryWrite(in Closed line, Span<byte> destination, out int written)
        {
            var text = new Utf8LineWriter(destination);
            text.Append("close "u8);
            AppendWho(ref text, line.Peer, line.Listener, line.ConnectionId);
            text.Append("]: "u8);
            text.Append(line.Reason);
            text.Append(", in "u8);
            text.Append(line.BytesIn);
            text.Append(" B, out "u8);
            text.Append(line.BytesOut);
            text.Append(" B, "u8);
            text.Append(line.DurationMs);
            text.Append(" ms"u8);
            if (line.Detail is { } detail)
            {
                text.Append("; "u8);
                text.Append(detail);
            }
            return text.TryFinish(out written);
        }
    }

    /// <summary>"PEER on LISTENER [ID" (the id in hex), as both lines name their connection.</summary>
    private static void AppendWho(ref Utf8LineWriter text, string peer, string listener, long connectionId)
    {
        text.Append(peer);
        text.Append(" on "u8);
        text.Append(listener);
        text.Append(" ["u8);
        text.AppendHex(connectionId);
    }

    private static string AsString<TState>(IUtf8MessageFormat<TState> format, in TState line)
    {
        var room = new byte[256];
        int written;
        while (!format.TryWrite(line, room, out written))
            room = new byte[room.Length * 2];
        return Encoding.UTF8.GetString(room, 0, written);
    }
}
