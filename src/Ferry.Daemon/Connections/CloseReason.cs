using System.Text;

namespace Ferry.Daemon.Connections;

/// <summary>Why a connection ended; decided once (<see cref="ConnectionEnding"/>) and logged once, when it closes.</summary>
internal enum CloseReason
{
    /// <summary>The peer closed its side (read returned end of stream).</summary>
    PeerClosed,

    /// <summary>The service finished its job (daytime after its one line).</summary>
    ServiceDone,

    /// <summary>The peer vanished: reset, or a write to a socket it had closed.</summary>
    PeerReset,

    /// <summary>ferryd is stopping and closed the connection gracefully.</summary>
    Shutdown,

    /// <summary>The transport was aborted, e.g. when the shutdown deadline passed.</summary>
    Aborted,

    /// <summary>The client asked to leave (chat's /quit).</summary>
    ClientQuit,

    /// <summary>The client's outbound queue passed the hard limit, or the soft limit for too long.</summary>
    SlowConsumer,

    /// <summary>A line longer than the listener's maxLine, with overlong=close.</summary>
    LineTooLong,

    /// <summary>No byte either way for the listener's idleTimeout.</summary>
    IdleTimeout,

    /// <summary>The client sent nothing within the listener's firstByteTimeout.</summary>
    FirstByteTimeout,

    /// <summary>The TLS handshake failed or timed out; the service never ran.</summary>
    TlsHandshakeFailed,

    /// <summary>forward: no upstream could be connected (each tried is named in a Warning line), or none is up.</summary>
    NoUpstream,

    /// <summary>forward: the upstream reset the connection; the client was reset too.</summary>
    UpstreamReset,

    /// <summary>forward: one side half-closed and the other did not finish within finTimeout.</summary>
    FinTimeout,

    /// <summary>acceptProxy: the PROXY header was missing, malformed, late, or sent from outside proxyFrom.</summary>
    ProxyHeaderRefused,

    /// <summary>acceptProxy: the client the PROXY header names is refused by the listener's allow/deny.</summary>
    Denied,

    /// <summary>exec: the program could not be started (named in a Warning line, once per episode).</summary>
    ProgramNotStarted,

    /// <summary>exec: the program ran longer than the listener's timeout and was ended.</summary>
    ProgramTimeout,

    /// <summary>An unexpected error in the service; logged with its exception.</summary>
    Error,
}

internal static class CloseReasonText
{
    private static readonly string[] Labels = Enum.GetValues<CloseReason>().Select(r => r.Describe().Replace(' ', '_')).ToArray();

    private static readonly byte[][] Utf8Descriptions = Enum.GetValues<CloseReason>().Select(r => Encoding.UTF8.GetBytes(r.Describe())).ToArray();

    /// <summary>The metrics' close_reason label: "peer_closed", "idle_timeout"...</summary>
    public static string Label(this CloseReason reason) => Labels[(int)reason];

    /// <summary><see cref="Describe"/> in UTF-8, for the close line.</summary>
    public static ReadOnlySpan<byte> DescribeUtf8(this CloseReason reason) => Utf8Descriptions[(int)reason];

    public static string Describe(this CloseReason reason) => reason switch
    {
        CloseReason.PeerClosed => "peer closed",
        CloseReason.ServiceDone => "service done",
        CloseReason.PeerReset => "peer reset",
        CloseReason.Shutdown => "server shutdown",
        CloseReason.Aborted => "aborted",
        CloseReason.ClientQuit => "client quit",
        CloseReason.SlowConsumer => "slow consumer",
        CloseReason.LineTooLong => "line too long",
        CloseReason.IdleTimeout => "idle timeout",
        CloseReason.FirstByteTimeout => "first byte timeout",
        CloseReason.TlsHandshakeFailed => "tls handshake failed",
        CloseReason.NoUpstream => "no upstream",
        CloseReason.UpstreamReset => "upstream reset",
        CloseReason.FinTimeout => "fin timeout",
        CloseReason.ProxyHeaderRefused => "proxy header refused",
        CloseReason.Denied => "denied",
        CloseReason.ProgramNotStarted => "program not started",
        CloseReason.ProgramTimeout => "program timeout",
        _ => "error",
    };
}
