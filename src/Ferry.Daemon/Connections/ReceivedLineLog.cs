using System.Buffers;
using Ferry.Protocol;

namespace Ferry.Daemon.Connections;

/// <summary>
/// Debug logging of what a client sends, line by line as the seed printed it
/// ("client 127.0.0.1:51234 says: hello"), whatever the service: it sees the bytes through
/// <see cref="ObservedInput"/>, below the service. Keeps at most <see cref="PeerText.DefaultMaxBytes"/> bytes of the current
/// line, so a client that never sends '\n' costs bounded memory; the rest is only counted.
/// </summary>
internal sealed class ReceivedLineLog(Action<string> writeLine) : IInputObserver
{
    private readonly byte[] _line = new byte[PeerText.DefaultMaxBytes];
    private int _kept;
    private long _dropped;
    private byte _lastByte;

    public void Observe(ReadOnlySequence<byte> received)
    {
        foreach (var segment in received)
            Observe(segment.Span);
    }

    /// <summary>Logs a last line that the peer did not end with '\n'.</summary>
    public void Flush()
    {
        if (_kept > 0 || _dropped > 0)
            Emit();
    }

    private void Observe(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int newline = bytes.IndexOf((byte)'\n');
            var part = newline < 0 ? bytes : bytes[..newline];
            int room = _line.Length - _kept;
            int keep = Math.Min(room, part.Length);
            part[..keep].CopyTo(_line.AsSpan(_kept));
            _kept += keep;
            _dropped += part.Length - keep;
            if (!part.IsEmpty)
                _lastByte = part[^1];
            if (newline < 0)
                return;
            if (_lastByte == (byte)'\r' && _kept + _dropped > 0)
            {
                // The CR of a CRLF ending is not content: un-keep it, or un-count it if cut.
                if (_dropped > 0)
                    _dropped--;
                else
                    _kept--;
            }
            Emit();
            bytes = bytes[(newline + 1)..];
        }
    }

    private void Emit()
    {
        var shown = _line.AsSpan(0, _kept);
        string text = PeerText.Escape(shown);
        if (_dropped > 0)
            text += $"... (+{_dropped} bytes)";
        writeLine(text);
        _kept = 0;
        _dropped = 0;
        _lastByte = 0;
    }
}
