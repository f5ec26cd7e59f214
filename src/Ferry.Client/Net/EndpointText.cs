using System.Net;

namespace Ferry.Client.Net;

/// <summary>Formats endpoints as ADDR:PORT, IPv6 in brackets.</summary>
internal static class EndpointText
{
    // IPv4 peers of a dual-mode listener arrive as ::ffff:a.b.c.d; users expect a.b.c.d.
    public static string Format(EndPoint? endpoint) => endpoint switch
    {
        IPEndPoint { Address.IsIPv4MappedToIPv6: true } ip => new IPEndPoint(ip.Address.MapToIPv4(), ip.Port).ToString(),
        null => "unknown",
        _ => endpoint.ToString() ?? "unknown",
    };
}
