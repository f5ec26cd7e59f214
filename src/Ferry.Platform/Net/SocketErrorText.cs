using System.Net.Sockets;

namespace Ferry.Platform.Net;

/// <summary>Short, lower-case descriptions of socket errors for one-line messages, the same in every program.</summary>
public static class SocketErrorText
{
    // Fixed texts for the errors users meet every day, so messages do not depend on the
    // platform's strerror wording or locale; anything rarer falls back to the OS message.
    public static string Describe(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionReset => "connection reset by peer",
        SocketError.ConnectionAborted => "connection aborted",
        SocketError.TimedOut => "timed out",
        SocketError.HostNotFound or SocketError.NoData => "unknown host",
        SocketError.TryAgain => "temporary failure in name resolution",
        SocketError.HostUnreachable => "no route to host",
        SocketError.NetworkUnreachable => "network is unreachable",
        SocketError.NetworkDown => "network is down",
        SocketError.AddressAlreadyInUse => "address already in use",
        SocketError.AddressNotAvailable => "address not available on this host",
        SocketError.AccessDenied => "permission denied",
        SocketError.AddressFamilyNotSupported => "address family not supported on this host",
        SocketError.TooManyOpenSockets => "too many open files",
        _ => LowerFirst(new SocketException((int)error).Message),
    };

    public static string Describe(SocketException exception) => Describe(exception.SocketErrorCode);

    /// <summary>An errno from a socket call made directly, in the same words as the runtime's socket errors.</summary>
    public static string DescribeErrno(int errno) => errno switch
    {
        Linux.Errno.ConnectionRefused => Describe(SocketError.ConnectionRefused),
        Linux.Errno.ConnectionReset => Describe(SocketError.ConnectionReset),
        Linux.Errno.TimedOut => Describe(SocketError.TimedOut),
        Linux.Errno.AddressNotAvailable => Describe(SocketError.AddressNotAvailable),
        Linux.Errno.TooManyFiles => Describe(SocketError.TooManyOpenSockets),
        _ => Linux.Errno.Describe(errno),
    };

    private static string LowerFirst(string text) =>
        text.Length > 0 && char.IsUpper(text[0]) ? char.ToLowerInvariant(text[0]) + text[1..] : text;
}
