using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ferry.Client.Net;

namespace Ferry.Client.Bench;

/// <summary>Linux errno values from the epoll engine, described in the same words as the async engine's errors.</summary>
internal static class Errno
{
    public static string Describe(int errno) => errno switch
    {
        111 => SocketErrorText.Describe(new SocketException((int)SocketError.ConnectionRefused)),
        104 => SocketErrorText.Describe(new SocketException((int)SocketError.ConnectionReset)),
        110 => SocketErrorText.Describe(new SocketException((int)SocketError.TimedOut)),
        99 => SocketErrorText.Describe(new SocketException((int)SocketError.AddressNotAvailable)),
        24 => SocketErrorText.Describe(new SocketException((int)SocketError.TooManyOpenSockets)),
        32 => "broken pipe",
        _ => LowerFirst(Marshal.GetPInvokeErrorMessage(errno)),
    };

    private static string LowerFirst(string text) =>
        text.Length > 0 && char.IsUpper(text[0]) ? char.ToLowerInvariant(text[0]) + text[1..] : text;
}
