using System.Buffers;
using System.Text;
using Ferry.Platform.Linux;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Daemon.Logging;

/// <summary>
/// Where log lines go: a file (opened O_APPEND, so logrotate's copytruncate and other writers
/// never leave holes) or stderr. Each line is formatted to UTF-8 on the thread that logs it,
/// into a buffer that goes out in one write(2): at once when nothing was written for
/// <see cref="HoldTime"/> (a quiet server's lines appear as they happen), else within
/// <see cref="HoldTime"/> or at <see cref="WriteAt"/> bytes (a busy one writes ten batches a
/// second, not a line per write). No thread is woken per line.
/// </summary>
/// <remarks>
/// <para><see cref="Reopen"/> (SIGUSR1) continues in a new file at the same path after logrotate
/// moved the old one. A file per level is created at its first line, so ferryd.error.log exists
/// only once there was an error.</para>
/// <para>A write that fails (a full disk, a file system gone read-only) drops that batch instead
/// of holding it: memory stays bounded and the server goes on. The failure is said on stderr
/// once when it starts and once when writing works again, with how much was lost (also in the
/// file). Disposing writes out what is held; only a SIGKILL can lose the last tenth of a second.</para>
/// </remarks>
internal sealed class LogFile : IDisposable
{
    public static readonly TimeSpan HoldTime = TimeSpan.FromMilliseconds(100);
    private const int WriteAt = 64 * 1024;

    /// <summary>Room for a usual message written straight to UTF-8; a longer one (a long Unix peer path) is tried again in twice the room.</summary>
    private const int UsualMessageLength = 256;
    private const int AppendFlags = DescriptorCalls.WriteOnly | DescriptorCalls.Create | DescriptorCalls.Append | DescriptorCalls.CloseOnExec;

    private readonly Lock _gate = new();
    private ArrayBufferWriter<byte> _pending = new(WriteAt);
    private readonly LogTimestamp _timestamp = new();
    private readonly Timer _holdTimer;
    private SafeFileHandle? _file;
    private long _lastWrite;
    private bool _timerArmed;
    private int _failingWith;
    private long _lostBytes;

    private LogFile(string? path, SafeFileHandle? file)
    {
        Path = path;
        _file = file;
        _holdTimer = new Timer(static state => ((LogFile)state!).WriteHeld(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>The file's path; null for stderr.</summary>
    public string? Path { get; }

    private string Name => Path ?? "stderr";

    /// <summary>Opens <paramref name="path"/> for appending now; null and the errno when it cannot.</summary>
    public static LogFile? Open(string path, out int errno)
    {
        var file = DescriptorCalls.OpenFile(path, AppendFlags, out errno);
        return file is null ? null : new LogFile(path, file);
    }

    /// <summary>A file at <paramref name="path"/> that is created when its first line is written.</summary>
    public static LogFile OpenAtFirstLine(string path) => new(path, null);

    public static LogFile StandardError() => new(null, new SafeFileHandle(2, ownsHandle: false));

    /// <summary>
    /// Writes the line (time, level, message, an exception's text on the lines after it) into
    /// the buffer; writes the buffer now or arms the hold timer. A message whose format writes
    /// UTF-8 itself (<see cref="Utf8MessageFormat{TState}"/>) goes straight in; any other, and an
    /// exception's text, is made a string first, outside the lock.
    /// </summary>
    public void Append<TState>(LogLevel level, in TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var direct = Utf8MessageFormat<TState>.Of(formatter);
        string? message = direct is null ? formatter(state, exception) ?? "" : null;
        string? exceptionText = exception?.ToString();
        lock (_gate)
        {
            WriteLine(_pending, level, direct, in state, message, exceptionText);
            WriteOrHold();
        }
    }

    /// <summary>One line into <paramref name="output"/>: written by <paramref name="direct"/>, else <paramref name="message"/>.</summary>
    private void WriteLine<TState>(ArrayBufferWriter<byte> output, LogLevel level, Utf8MessageFormat<TState>? direct, in TState state,
        string? message, string? exceptionText)
    {
        var tag = LineFormat.Tag(level);
        int prefix = LogTimestamp.Length + tag.Length;
        var line = message is null ? WriteMessage(output, direct!, in state, prefix, out int written) : WriteMessage(output, message, prefix, out written);
        _timestamp.Write(DateTime.UtcNow, line);
        tag.CopyTo(line[LogTimestamp.Length..]);
        output.Advance(prefix + written);
        if (exceptionText is not null)
        {
            output.Write("\n"u8);
            WriteText(output, exceptionText);
        }
        output.Write("\n"u8);
    }

    /// <summary>The line's room with the message written after <paramref name="prefix"/> bytes, made larger until it fits.</summary>
    private static Span<byte> WriteMessage<TState>(ArrayBufferWriter<byte> output, Utf8MessageFormat<TState> format, in TState state,
        int prefix, out int written)
    {
        for (int room = UsualMessageLength; ; room *= 2)
        {
            var line = output.GetSpan(prefix + room);
            if (format.TryWrite(in state, line[prefix..], out written))
                return line;
        }
    }

    private static Span<byte> WriteMessage(ArrayBufferWriter<byte> output, string message, int prefix, out int written)
    {
        var line = output.GetSpan(prefix + Encoding.UTF8.GetMaxByteCount(message.Length));
        written = Encoding.UTF8.GetBytes(message, line[prefix..]);
        return line;
    }

    private static void WriteText(ArrayBufferWriter<byte> output, string text) =>
        output.Advance(Encoding.UTF8.GetBytes(text, output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length))));

    /// <summary>Writes the buffer now when it is full or nothing was written for <see cref="HoldTime"/>; else has the timer write it.</summary>
    private void WriteOrHold()
    {
        long now = Environment.TickCount64;
        if (_pending.WrittenCount >= WriteAt || now - _lastWrite >= HoldTime.TotalMilliseconds)
        {
            WritePending(now);
        }
        else if (!_timerArmed)
        {
            _timerArmed = true;
            _holdTimer.Change(HoldTime, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Writes what is held to the file as it was, then opens the path anew.</summary>
    public void Reopen()
    {
        lock (_gate)
        {
            WritePending(Environment.TickCount64);
            if (Path is null || _file is null)
                return; // stderr, or not opened yet: its first line opens the path as it is then
            var reopened = DescriptorCalls.OpenFile(Path, AppendFlags, out int errno);
            if (reopened is null)
            {
                // Keep writing where we were: a moved file still takes lines, a lost handle none.
                Console.Error.WriteLine($"ferryd: cannot reopen log file {Path}: {Errno.Describe(errno)}; still writing to the file it was");
                return;
            }
            _file.Dispose();
            _file = reopened;
        }
    }

    public void Dispose()
    {
        _holdTimer.Dispose();
        lock (_gate)
        {
            WritePending(Environment.TickCount64);
            _file?.Dispose();
            _file = null;
        }
    }

    private void WriteHeld()
    {
        lock (_gate)
        {
            _timerArmed = false;
            WritePending(Environment.TickCount64);
        }
    }

    private void WritePending(long now)
    {
        if (_pending.WrittenCount == 0)
            return;
        _lastWrite = now;
        var bytes = _pending.WrittenSpan;
        long written = 0;
        int errno = 0;
        if (Path is not null)
            _file ??= DescriptorCalls.OpenFile(Path, AppendFlags, out errno);
        if (_file is not null)
            errno = DescriptorCalls.WriteAll(_file, bytes, out written);
        if (errno != 0)
        {
            _lostBytes += bytes.Length - written;
            if (_failingWith == 0)
                Console.Error.WriteLine($"ferryd: cannot write log {Describe()}: {Errno.Describe(errno)}; log lines are lost until it can");
            _failingWith = errno;
        }
        else if (_failingWith != 0)
        {
            string note = $"log {Describe()} writable again; {_lostBytes} bytes of log lines were lost ({Errno.Describe(_failingWith)})";
            Console.Error.WriteLine($"ferryd: {note}");
            var line = new ArrayBufferWriter<byte>();
            WriteLine<object?>(line, LogLevel.Warning, null, null, note, null);
            DescriptorCalls.WriteAll(_file!, line.WrittenSpan, out _);
            _failingWith = 0;
            _lostBytes = 0;
        }
        if (_pending.Capacity > 4 * WriteAt)
            _pending = new ArrayBufferWriter<byte>(WriteAt); // one burst of long lines does not keep its memory
        else
            _pending.ResetWrittenCount();
    }

    private string Describe() => Path is null ? "on stderr" : $"file {Path}";
}
