namespace Ferry.Daemon.Transport;

/// <summary>How one direction of bytes between two ends ended (<see cref="SocketRelay"/>, <c>PipeCopy.PumpAsync</c>).</summary>
internal enum DirectionEnd
{
    /// <summary>The source sent its FIN; the destination got ours after the last byte.</summary>
    Finished,

    /// <summary>The source reset the connection.</summary>
    SourceReset,

    /// <summary>The destination is gone (reset, or closed while we wrote).</summary>
    DestinationGone,

    /// <summary>ferryd closed the source: a timeout, shutdown, or the other direction's reset.</summary>
    Aborted,

    /// <summary>ferryd asked it to stop (shutdown): what had arrived was passed on, then it stopped.</summary>
    Stopped,
}
