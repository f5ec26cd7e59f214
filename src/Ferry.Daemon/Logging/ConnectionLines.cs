using Ferry.Daemon.Connections;

namespace Ferry.Daemon.Logging;

/// <summary>
/// A connection's lines: "close ..." at Info, the hottest line ferryd writes, and "open ..." at
/// Debug (at Info with <c>Logging:OpenLines</c>). Each is a state with a format that writes it to
/// UTF-8 without a string (<see cref="Utf8MessageFormat{TState}"/>), and gives it as a string to
/// any other logger.
/// </summary>
internal static class ConnectionLines
{
    public readonly record struct Opened(string Peer, LoggedName Listener, long ConnectionId);

    /// <param name="Detail">What the service adds (forward: the upstream and which side closed first), after a "; ".</param>
    public readonly record struct Closed(string Peer, LoggedName Listener, long ConnectionId, CloseReason Reason,
        long BytesIn, long BytesOut, long DurationMs, string? Detail);

    public static readonly Func<Opened, Exception?, string> OpenedFormatter = new OpenedFormat().Formatter;

    public static readonly Func<Closed, Exception?, string> ClosedFormatter = new ClosedFormat().Formatter;

    private sealed class OpenedFormat : Utf8MessageFormat<Opened>
    {
        public override bool TryWrite(in Opened line, Span<byte> destination, out int written)
        {
            var text = new Utf8LineWriter(destination);
            AppendStart(ref text, "open "u8, line.Peer, line.Listener, line.ConnectionId);
            return text.TryFinish(out written);
        }
    }

    private sealed class ClosedFormat : Utf8MessageFormat<Closed>
    {
        public override bool TryWrite(in Closed line, Span<byte> destination, out int written)
        {
            var text = new Utf8LineWriter(destination);
            AppendStart(ref text, "close "u8, line.Peer, line.Listener, line.ConnectionId);
            text.Append(": "u8);
            text.Append(line.Reason.DescribeUtf8());
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

    /// <summary>"open PEER on LISTENER [ID]" (the id in hex): how both lines begin.</summary>
    private static void AppendStart(ref Utf8LineWriter text, ReadOnlySpan<byte> what, string peer, LoggedName listener, long connectionId)
    {
        text.Append(what);
        text.Append(peer);
        text.Append(" on "u8);
        text.Append(listener.Utf8);
        text.Append(" ["u8);
        text.AppendHex(connectionId);
        text.Append("]"u8);
    }
}
