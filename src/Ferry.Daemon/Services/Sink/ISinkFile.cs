namespace Ferry.Daemon.Services.Sink;

/// <summary>
/// The file a sink appends to. A seam so the full-disk and vanished-file paths can be tested
/// without filling a disk; <see cref="SinkFile"/> is the real one.
/// </summary>
internal interface ISinkFile : IDisposable
{
    string Path { get; }

    /// <summary>
    /// Appends all of <paramref name="bytes"/> or, on failure, leaves the file as it was
    /// (a partial write is cut back) and throws <see cref="IOException"/>.
    /// </summary>
    void Append(ReadOnlySpan<byte> bytes);

    /// <summary>Forces what was appended to disk (fsync).</summary>
    void Sync();

    /// <summary>Closes the file; the next append opens it at <see cref="Path"/> again.</summary>
    void Close();

    /// <summary>False when the file we hold is no longer at <see cref="Path"/> (deleted, or its directory removed).</summary>
    bool IsStillAtPath();
}
