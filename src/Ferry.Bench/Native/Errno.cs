using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ferry.Client.Net;

namespace Ferry.Bench.Native;

/// <summary>Linux errno values from the epoll engine, described in the same words as the async engine's errors.</summary>
internal static class Errno
{
    public static string Describe(int errno) => errno switch
    {
        LinuxSockets.ErrorConnectionRefused => SocketErrorText.Describe(new SocketException((int)SocketError.ConnectionRefused)),
        LinuxSockets.ErrorConnectionReset => SocketErrorText.Describe(new SocketException((int)SocketError.ConnectionReset)),
        LinuxSockets.ErrorTimedOut => SocketErrorText.Describe(new SocketException((int)SocketError.TimedOut)),
        LinuxSockets.ErrorAddressNotAvailable => SocketErrorText.Describe(new SocketException((int)SocketError.AddressNotAvailable)),
        LinuxSockets.ErrorTooManyFiles => SocketErrorText.Describe(new SocketException((int)SocketError.TooManyOpenSockets)),
        LinuxSockets.ErrorBrokenPipe => "broken pipe",
        _ => LowerFirst(Marshal.GetPInvokeErrorMessage(errno)),
    };

    private static string LowerFirst(string text) =>
        text.Length > 0 && char.IsUpper(text[0]) ? char.ToLowerInvariant(text[0]) + text[1..] : text;
}
