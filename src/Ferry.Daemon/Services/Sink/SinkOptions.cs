using Ferry.Daemon.Listeners;

namespace Ferry.Daemon.Services.Sink;

/// <summary>What goes in front of each line in the sink's file.</summary>
internal enum SinkPrefix
{
    None,
    Time,
    Peer,
    TimeAndPeer,
    Json,
}

/// <summary>When the sink forces its file to disk, after Redis's appendfsync.</summary>
internal enum SinkFsync
{
    /// <summary>After every batch of lines written (group commit), before the next batch is taken.</summary>
    Always,

    /// <summary>At most a second after a write (the default).</summary>
    EverySecond,

    /// <summary>Only when the file is closed or reopened; the kernel decides otherwise.</summary>
    No,
}

/// <summary>A sink listener's options.</summary>
internal sealed record SinkOptions(string Path, SinkPrefix Prefix, SinkFsync Fsync, LineOptions Lines)
{
    public static SinkOptions Read(OptionReader reader)
    {
        string? path = reader.Text("path");
        if (string.IsNullOrWhiteSpace(path))
            throw reader.Problem("sink needs path=FILE");
        return new SinkOptions(
            // Absolute already when read from a file or the command line; made so here for any other caller.
            System.IO.Path.GetFullPath(path),
            reader.Choice("prefix", SinkPrefix.None,
                ("none", SinkPrefix.None), ("time", SinkPrefix.Time), ("peer", SinkPrefix.Peer),
                ("time+peer", SinkPrefix.TimeAndPeer), ("json", SinkPrefix.Json)),
            reader.Choice("fsync", SinkFsync.EverySecond,
                ("always", SinkFsync.Always), ("everysec", SinkFsync.EverySecond), ("no", SinkFsync.No)),
            LineOptions.Read(reader));
    }
}
