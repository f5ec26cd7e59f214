namespace Ferry.Daemon.Listeners;

/// <summary>Why a connection was refused right after accept, before its service saw a byte.</summary>
internal enum RefusalReason
{
    /// <summary>The peer matched deny, or is outside allow.</summary>
    NotAllowed,

    /// <summary>The listener holds maxConnections.</summary>
    ListenerFull,

    /// <summary>The source holds maxConnectionsPerIp.</summary>
    SourceFull,

    /// <summary>The source opened connections faster than connectionRate (burst spent).</summary>
    RateExceeded,

    /// <summary>Too few file descriptors left to serve another connection safely.</summary>
    OutOfDescriptors,
}

internal static class RefusalReasonText
{
    public static readonly RefusalReason[] All = Enum.GetValues<RefusalReason>();

    /// <summary>The name in "ferryd status --json" and in log summaries.</summary>
    public static string Key(this RefusalReason reason) => reason switch
    {
        RefusalReason.NotAllowed => "notAllowed",
        RefusalReason.ListenerFull => "maxConnections",
        RefusalReason.SourceFull => "maxConnectionsPerIp",
        RefusalReason.RateExceeded => "connectionRate",
        _ => "outOfDescriptors",
    };

    /// <summary>
    /// The line a refused client of a line service reads. None for a denied peer: a scanner
    /// learns nothing from a close, and the operator's log has the reason.
    /// </summary>
    public static string? ClientLine(this RefusalReason reason) => reason switch
    {
        RefusalReason.ListenerFull => "! too many connections, try again later\n",
        RefusalReason.SourceFull => "! too many connections from your address\n",
        RefusalReason.RateExceeded => "! too many new connections from your address, slow down\n",
        RefusalReason.OutOfDescriptors => "! server busy, try again later\n",
        _ => null,
    };
}
