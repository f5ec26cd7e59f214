using System.Buffers;
using System.IO.Pipelines;
using Ferry.Daemon.Services.Fanout;
using Ferry.Protocol;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services;

/// <summary>What <see cref="LineReader.NextAsync"/> found.</summary>
internal enum LineEvent
{
    /// <summary>A whole line, in <see cref="LineReader.Line"/>; also an unterminated last line at a clean end of stream.</summary>
    Line,

    /// <summary>A line longer than maxLine with overlong=close: the client was told; the service should close.</summary>
    TooLong,

    /// <summary>The peer ended its side and every line has been handed out.</summary>
    End,

    /// <summary>A pending read was cancelled (<see cref="PipeReader.CancelPendingRead"/>); nothing is lost.</summary>
    Interrupted,
}

/// <summary>
/// The line loop of the line services (chat, sink) in one place: frames the input with
/// <see cref="LineFramer"/>, answers an over-long line with the error line and a log line and
/// applies the listener's overlong policy, and hands out an unterminated last line at a clean
/// end of stream as a line ("echo -n hi | nc" says hi). A line is valid until the next call.
/// </summary>
internal sealed class LineReader(PipeReader input, LineOptions options, OutboundQueue replies, ILogger logger, string service, string peer)
{
    private readonly LineFramer _framer = new(options.MaxLine);
    private ReadResult _read;
    private ReadOnlySequence<byte> _buffer;
    private bool _holding;
    private long _held;

    public ReadOnlySequence<byte> Line { get; private set; }

    /// <summary>Bytes of a line not finished yet (not counting one being discarded as over-long).</summary>
    public long Unfinished => _framer.IsDiscarding ? 0 : _holding ? _buffer.Length : _held;

    public async ValueTask<LineEvent> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_holding && TakeFromBuffer() is { } found)
                return found;
            _read = await input.ReadAsync(cancellationToken);
            _buffer = _read.Buffer;
            _holding = true;
        }
    }

    /// <summary>
    /// After a cancelled <see cref="NextAsync"/>: takes what the pipe already holds without waiting.
    /// True when there is more than before (new bytes, or the end); false when it is quiet.
    /// </summary>
    public bool TryReadMore()
    {
        if (_holding)
            return true;
        if (!input.TryRead(out var read))
            return false;
        if (read.Buffer.Length <= _held && !read.IsCompleted)
        {
            input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            return false;
        }
        _read = read;
        _buffer = read.Buffer;
        _holding = true;
        return true;
    }

    /// <summary>The next event from the buffer last read, or null once it is used up (and given back).</summary>
    private LineEvent? TakeFromBuffer()
    {
        while (true)
        {
            var result = _framer.TryReadLine(ref _buffer, out var line);
            if (result == LineReadResult.Line)
            {
                Line = line;
                return LineEvent.Line;
            }
            if (result == LineReadResult.LineTooLong)
            {
                replies.TryEnqueue(options.TooLongReply());
                bool close = options.Overlong == OverlongLinePolicy.Close;
                ServiceLog.LineTooLong(logger, service, peer, options.MaxLine, close ? "closing" : "discarded");
                if (close)
                    return LineEvent.TooLong;
                continue;
            }
            if (_read.IsCompleted)
            {
                if (_buffer.IsEmpty || _framer.IsDiscarding)
                    return LineEvent.End;
                Line = WithoutCarriageReturn(_buffer);
                _buffer = _buffer.Slice(_buffer.End);
                return LineEvent.Line;
            }
            input.AdvanceTo(_buffer.Start, _buffer.End);
            _held = _buffer.Length;
            _holding = false;
            if (_read.IsCanceled)
                return LineEvent.Interrupted;
            return null;
        }
    }

    private static ReadOnlySequence<byte> WithoutCarriageReturn(ReadOnlySequence<byte> tail) =>
        tail.Slice(tail.Length - 1).FirstSpan[0] == (byte)'\r' ? tail.Slice(0, tail.Length - 1) : tail;
}
