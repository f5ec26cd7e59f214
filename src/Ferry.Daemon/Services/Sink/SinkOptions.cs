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
    public static SinkOptions From(ServiceContext context)
    {
        context.AllowOnly([.. LineOptions.Keys, "path", "prefix", "fsync"]);
        string? path = context.Option("path");
        if (string.IsNullOrWhiteSpace(path))
            throw new ServiceOptionException($"listener {context.Spec}: sink needs path=FILE");
        return new SinkOptions(
            // Resolved now: a daemon later runs in "/", where a relative path would mean something else.
            System.IO.Path.GetFullPath(path),
            OptionValue.Choice(context, "prefix", SinkPrefix.None,
                ("none", SinkPrefix.None), ("time", SinkPrefix.Time), ("peer", SinkPrefix.Peer),
                ("time+peer", SinkPrefix.TimeAndPeer), ("json", SinkPrefix.Json)),
            OptionValue.Choice(context, "fsync", SinkFsync.EverySecond,
                ("always", SinkFsync.Always), ("everysec", SinkFsync.EverySecond), ("no", SinkFsync.No)),
            LineOptions.From(context));
    }
}
