using System.Net;
using System.Net.Sockets;
using Ferry.Platform.Net;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// A list of CIDR ranges (IPv4 and IPv6) for allow, deny and exempt. Peers on a dual-stack
/// socket arrive as IPv4-mapped IPv6 (::ffff:10.1.2.3); they are matched as the IPv4 address
/// they are, so "10.0.0.0/8" means the same on every kind of listener.
/// </summary>
internal sealed class AddressRanges
{
    private readonly IPNetwork[] _ranges;

    private AddressRanges(IPNetwork[] ranges) => _ranges = ranges;

    public static AddressRanges None { get; } = new([]);

    public static AddressRanges Loopback { get; } = new([new IPNetwork(IPAddress.Parse("127.0.0.0"), 8), new IPNetwork(IPAddress.IPv6Loopback, 128)]);

    public bool Contains(IPAddress address)
    {
        address = Unmapped(address);
        foreach (var range in _ranges)
        {
            if (range.Contains(address))
                return true;
        }
        return false;
    }

    private static IPAddress Unmapped(IPAddress address) => EndpointText.Unmapped(address);

    /// <summary>Does every range lie inside 127.0.0.0/8 or ::1 (true for the empty list)?</summary>
    public bool IsLoopbackOnly => _ranges.All(range => range.PrefixLength >= (range.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 8 : 128)
        && Loopback.Contains(range.BaseAddress));

    /// <summary>
    /// Parses "10.0.0.0/8;192.168.1.7;::1/128" (a bare address is one host); "none" or an
    /// empty text is the empty list. Host bits set below the prefix are a mistake (nginx
    /// warns that they are meaningless): reported rather than silently masked.
    /// </summary>
    public static bool TryParse(string text, out AddressRanges ranges, out string error)
    {
        ranges = None;
        error = "";
        var parsed = new List<IPNetwork>();
        foreach (string raw in text.Split([';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw.Equals("none", StringComparison.OrdinalIgnoreCase))
                continue;
            if (!TryParseOne(raw, out var range, out error))
                return false;
            parsed.Add(range);
        }
        ranges = parsed.Count == 0 ? None : new AddressRanges([.. parsed]);
        return true;
    }

    private static bool TryParseOne(string text, out IPNetwork range, out string error)
    {
        range = default;
        error = "";
        int slash = text.IndexOf('/');
        string addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText.Trim('[', ']'), out var address) || addressText.Contains('%'))
        {
            error = $"'{text}' is not an address or CIDR range (e.g. 10.0.0.0/8, 192.168.1.7, ::1/128)";
            return false;
        }
        address = Unmapped(address);
        int bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        int prefix = bits;
        if (slash >= 0 && (!int.TryParse(text[(slash + 1)..], System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out prefix) || prefix > bits))
        {
            error = $"'{text}': the prefix length must be 0 to {bits}";
            return false;
        }
        var network = Masked(address, prefix);
        if (!network.Equals(address))
        {
            error = $"'{text}': the address has bits set after the /{prefix} prefix (did you mean {network}/{prefix}?)";
            return false;
        }
        range = new IPNetwork(network, prefix);
        return true;
    }

    private static IPAddress Masked(IPAddress address, int prefix)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int bit = prefix; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }

    public override string ToString() => _ranges.Length == 0 ? "none" : string.Join(';', _ranges.Select(r => r.ToString()));
}
