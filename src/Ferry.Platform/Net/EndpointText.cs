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
        IPEndPoint ip => new IPEndPoint(Unmapped(ip.Address), ip.Port).ToString(),
        null => "unknown",
        _ => endpoint.ToString() ?? "unknown",
    };
}
