namespace Ferry.Daemon.Listeners;

/// <summary>
/// Why a connection was refused before its service saw a byte: right after accept (admission),
/// or, once admitted, at its TLS handshake or PROXY header.
/// </summary>
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

    /// <summary>The TLS handshake failed or timed out.</summary>
    TlsHandshake,

    /// <summary>acceptProxy: the PROXY header was missing, malformed, late, or sent from outside proxyFrom.</summary>
    ProxyHeader,
}

internal static class RefusalReasonText
{
    public static readonly RefusalReason[] All = Enum.GetValues<RefusalReason>();

    /// <summary>The name in "ferryd status --json", in log summaries and in the metrics' reason label.</summary>
    public static string Key(this RefusalReason reason) => reason switch
    {
        RefusalReason.NotAllowed => "notAllowed",
        RefusalReason.ListenerFull => "maxConnections",
        RefusalReason.SourceFull => "maxConnectionsPerIp",
        RefusalReason.RateExceeded => "connectionRate",
        RefusalReason.OutOfDescriptors => "outOfDescriptors",
        RefusalReason.TlsHandshake => "tlsHandshake",
        _ => "proxyHeader",
    };

    /// <summary>An admitted connection that ended this way was refused after all: its handshake or header failed, or the client the header named is denied.</summary>
    public static RefusalReason? AfterAdmission(Connections.CloseReason reason) => reason switch
    {
        Connections.CloseReason.TlsHandshakeFailed => RefusalReason.TlsHandshake,
        Connections.CloseReason.ProxyHeaderRefused => RefusalReason.ProxyHeader,
        Connections.CloseReason.Denied => RefusalReason.NotAllowed,
        _ => null,
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
