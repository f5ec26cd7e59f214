using Ferry.Platform.Linux;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Daemon.Services.Sink;

/// <summary>
/// The sink's file on disk, opened lazily with O_APPEND and written with write(2), so every
/// batch lands at the end of the file as it is at that moment: another process appending (or a
/// second ferryd listener on the same path), or a truncation by logrotate's copytruncate, never
/// makes ferryd overwrite a line or leave a hole. A failed write (ENOSPC in the middle of a
/// batch) is cut back, so the file never holds half a line.
/// </summary>
internal sealed class SinkFile(string path) : ISinkFile
{
    private SafeFileHandle? _file;

    public string Path { get; } = path;

    /// <summary>Opens (creating) the file now, so a bad path fails at startup with its cause.</summary>
    public void Open() => EnsureOpen();

    public void Append(ReadOnlySpan<byte> bytes)
    {
        var file = EnsureOpen();
        int errno = DescriptorCalls.WriteAll(file, bytes, out long written);
        if (errno == 0)
            return;
        if (written > 0)
            CutBack(file, written);
        throw new IOException(Errno.Text(errno), errno);
    }

    public void Sync()
    {
        if (_file is { } file && DescriptorCalls.SyncFile(file) is int errno and not 0)
            throw new IOException(Errno.Text(errno), errno);
    }

    public void Close()
    {
        var file = _file;
        _file = null;
        if (file is null)
            return;
        try
        {
            if (DescriptorCalls.SyncFile(file) is int errno and not 0)
                throw new IOException(Errno.Text(errno), errno);
        }
        finally
        {
            file.Dispose();
        }
    }

    public bool IsStillAtPath() =>
        // Deleted, or its directory removed: the open handle would keep "working" on a file no
        // one can ever read. A rename is rotation's business and is handled by SIGUSR1.
        _file is null || File.Exists(Path);

    public void Dispose() => Close();

    private SafeFileHandle EnsureOpen()
    {
        if (_file is not null)
            return _file;
        _file = DescriptorCalls.OpenFile(Path, DescriptorCalls.WriteOnly | DescriptorCalls.Create | DescriptorCalls.Append | DescriptorCalls.CloseOnExec,
            out int errno);
        return _file ?? throw new IOException(Errno.Text(errno), errno);
    }

    /// <summary>Removes the part of a batch that did get written: it is at the end of the file.</summary>
    private void CutBack(SafeFileHandle file, long written)
    {
        try
        {
            RandomAccess.SetLength(file, Math.Max(0, RandomAccess.GetLength(file) - written));
        }
        catch (IOException)
        {
            // Cannot even truncate: drop the handle; the next write reopens the file.
            _file = null;
            file.Dispose();
        }
    }
}
