using System.Buffers;

namespace Ferry.Client.Net;

/// <summary>
/// The operator's input cut into datagrams, for <c>ferry -u</c> and <c>ferry listen -u</c>. The
/// first read decides how, once: text (no NUL byte, valid UTF-8; <see cref="BinaryDetection"/>)
/// is sent a line per datagram, newline included (<see cref="LineDatagrams"/>), so
/// <c>printf 'a\nb\n' | ferry -u ...</c> sends two datagrams however the pipe delivers them;
/// binary input is sent a read per datagram, as nc sends everything. No datagram is longer
/// than <see cref="MaxLength"/>.
/// </summary>
internal sealed class StdinDatagrams(Stream input)
{
    /// <summary>The largest UDP payload over IPv4 (65,535 less 20 bytes of IP and 8 of UDP header), used for IPv6 too.</summary>
    public const int MaxLength = 65_507;

    private readonly byte[] _buffer = new byte[MaxLength];
    private int _start;
    private int _end;
    private bool? _isText;
    private bool _ended;

    /// <summary>
    /// The next datagram, valid until the next call; null once the input has ended and all of
    /// it was returned. Reading failures surface as the stream's <see cref="IOException"/>.
    /// </summary>
    public async ValueTask<ReadOnlyMemory<byte>?> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_isText == true && TryTakeLine(out ReadOnlyMemory<byte> line))
                return line;
            if (_ended)
                return null;

            MakeRoom();
            int read = await input.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                _ended = true;
                continue;
            }
            _isText ??= !BinaryDetection.IsBinary(_buffer.AsSpan(_end, read));
            _end += read;
            if (_isText == false)
                return _buffer.AsMemory(_start, read);
        }
    }

    private bool TryTakeLine(out ReadOnlyMemory<byte> line)
    {
        var pending = new ReadOnlySequence<byte>(_buffer, _start, _end - _start);
        if (!LineDatagrams.TryRead(ref pending, MaxLength, _ended, out ReadOnlySequence<byte> datagram))
        {
            line = default;
            return false;
        }
        line = _buffer.AsMemory(_start, (int)datagram.Length);
        _start += (int)datagram.Length;
        return true;
    }

    /// <summary>Moves an unfinished line to the front; binary reads always start there.</summary>
    private void MakeRoom()
    {
        if (_isText == false)
        {
            _start = _end = 0;
            return;
        }
        int pending = _end - _start;
        _buffer.AsSpan(_start, pending).CopyTo(_buffer);
        _start = 0;
        _end = pending;
    }
}
