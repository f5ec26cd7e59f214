namespace Ferry.Daemon.Services.Sink;

/// <summary>
/// The sink's file on disk, opened lazily, written unbuffered at the end we know. A failed write
/// (ENOSPC in the middle of a batch) is cut back to the last whole batch, so the file never
/// holds half a line.
/// </summary>
internal sealed class SinkFile(string path) : ISinkFile
{
    private FileStream? _stream;
    private long _length;

    public string Path { get; } = path;

    /// <summary>Opens (creating) the file now, so a bad path fails at startup with its cause.</summary>
    public void Open() => EnsureOpen();

    public void Append(ReadOnlySpan<byte> bytes)
    {
        var stream = EnsureOpen();
        try
        {
            stream.Write(bytes);
            _length += bytes.Length;
        }
        catch (IOException)
        {
            CutBack(stream);
            throw;
        }
    }

    public void Sync() => _stream?.Flush(flushToDisk: true);

    public void Close()
    {
        var stream = _stream;
        _stream = null;
        if (stream is null)
            return;
        try
        {
            stream.Flush(flushToDisk: true);
        }
        finally
        {
            stream.Dispose();
        }
    }

    public bool IsStillAtPath() =>
        // Deleted, or its directory removed: the open handle would keep "working" on a file no
        // one can ever read. A rename is rotation's business and is handled by SIGUSR1.
        _stream is null || File.Exists(Path);

    public void Dispose() => Close();

    private FileStream EnsureOpen()
    {
        if (_stream is not null)
            return _stream;
        // Share Read/Write/Delete: readers (tail, tests) and log rotation must not be blocked.
        var stream = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.Write,
            FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        _length = stream.Length;
        stream.Position = _length;
        _stream = stream;
        return stream;
    }

    private void CutBack(FileStream stream)
    {
        try
        {
            stream.SetLength(_length);
            stream.Position = _length;
        }
        catch (IOException)
        {
            // Cannot even truncate: drop the handle; reopening finds the true end.
            _stream = null;
            stream.Dispose();
        }
    }
}
