using System.Net;
using System.Net.Sockets;

namespace Ferry.Platform.Net;

/// <summary>
/// Addresses as people know them. A dual-stack socket sees IPv4 peers as IPv4-mapped IPv6
/// (::ffff:10.1.2.3); they are shown, matched and counted as the IPv4 address they are.
/// </summary>
public static class EndpointText
{
    /// <summary>An IPv4-mapped IPv6 address as the IPv4 address it carries; others unchanged.</summary>
    public static IPAddress Unmapped(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>ADDR:PORT, IPv6 in brackets, IPv4-mapped addresses as IPv4; "unknown" for none.</summary>
    public static string Format(EndPoint? endpoint) => endpoint switch
    {
        IPEndPoint ip => Format(Unmapped(ip.Address), ip.Port),
        null => "unknown",
        _ => endpoint.ToString() ?? "unknown",
    };

    /// <summary>What <see cref="IPEndPoint.ToString"/> says, written in one piece: every connection's peer is one of these.</summary>
    private static string Format(IPAddress address, int port)
    {
        // The longest: "[" + an IPv6 address with an IPv4 tail and a scope id (56) + "]:" + 5 digits.
        Span<char> text = stackalloc char[72];
        bool bracketed = address.AddressFamily == AddressFamily.InterNetworkV6;
        int length = bracketed ? 1 : 0;
        text[0] = '[';
        if (!address.TryFormat(text[length..], out int written))
            return new IPEndPoint(address, port).ToString();
        length += written;
        if (bracketed)
            text[length++] = ']';
        text[length++] = ':';
        port.TryFormat(text[length..], out written, default, System.Globalization.CultureInfo.InvariantCulture);
        return new string(text[..(length + written)]);
    }
}
