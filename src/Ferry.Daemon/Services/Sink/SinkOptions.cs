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

/// <summary>
/// When a sink tells its client that lines are in the file (<c>ack=</c>): never (<c>off</c>, the
/// default), once the client has half-closed and all its lines are written (<c>on</c>), or also
/// after every <see cref="Every"/> lines.
/// </summary>
internal sealed record SinkAcknowledgement(bool AtEnd, int Every)
{
    public static SinkAcknowledgement Off { get; } = new(false, 0);

    public static SinkAcknowledgement Read(OptionReader reader)
    {
        string? text = reader.Text("ack");
        if (text is null || text.Equals("off", StringComparison.OrdinalIgnoreCase))
            return Off;
        if (text.Equals("on", StringComparison.OrdinalIgnoreCase))
            return new SinkAcknowledgement(true, 0);
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int every) || every < 1)
            throw reader.Bad("ack", text, "not on, off, or a number of lines from 1");
        return new SinkAcknowledgement(true, every);
    }
}

/// <summary>A sink listener's options.</summary>
internal sealed record SinkOptions(string Path, SinkPrefix Prefix, SinkFsync Fsync, LineOptions Lines)
{
    public SinkAcknowledgement Acknowledge { get; init; } = SinkAcknowledgement.Off;

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
            LineOptions.Read(reader)) { Acknowledge = SinkAcknowledgement.Read(reader) };
    }
}
