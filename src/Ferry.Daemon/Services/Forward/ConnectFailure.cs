using Ferry.Platform.Linux;

namespace Ferry.Daemon.Services.Forward;

/// <summary>Why a connect to an upstream failed, as the metrics' cause label counts it.</summary>
internal enum ConnectFailure
{
    /// <summary>ECONNREFUSED: nothing listens there.</summary>
    Refused,

    /// <summary>No answer within connectTimeout.</summary>
    Timeout,

    /// <summary>No route to the host or network.</summary>
    Unreachable,

    /// <summary>Connected, but the TLS handshake with the upstream failed.</summary>
    Tls,

    /// <summary>Anything else: another errno, a connection ended before the PROXY header was sent.</summary>
    Other,
}

internal static class ConnectFailureText
{
    public static readonly ConnectFailure[] All = Enum.GetValues<ConnectFailure>();

    /// <summary>The cause label: "refused", "timeout", "unreachable", "tls", "other".</summary>
    public static string Label(this ConnectFailure failure) => failure switch
    {
        ConnectFailure.Refused => "refused",
        ConnectFailure.Timeout => "timeout",
        ConnectFailure.Unreachable => "unreachable",
        ConnectFailure.Tls => "tls",
        _ => "other",
    };

    public static ConnectFailure FromErrno(int errno) => errno switch
    {
        Errno.ConnectionRefused => ConnectFailure.Refused,
        Errno.TimedOut => ConnectFailure.Timeout,
        Errno.HostUnreachable or Errno.NetworkUnreachable => ConnectFailure.Unreachable,
        _ => ConnectFailure.Other,
    };
}
