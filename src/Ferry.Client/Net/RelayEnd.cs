namespace Ferry.Client.Net;

/// <summary>How a relayed connection ended, for the endings that are not ferry's own errors.</summary>
internal enum RelayEnd
{
    /// <summary>The peer closed its side normally (FIN); everything it sent was written out.</summary>
    PeerClosed,

    /// <summary>The peer reset the connection (RST).</summary>
    PeerReset,

    /// <summary>Writing to the output failed, typically because its reader went away (EPIPE).</summary>
    OutputClosed,
}
