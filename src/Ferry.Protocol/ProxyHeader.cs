using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ferry.Protocol;

/// <summary>What <see cref="ProxyHeader.Parse"/> made of the first bytes of a connection.</summary>
public enum ProxyHeaderStatus
{
    /// <summary>Nothing wrong so far, but the header is not complete: read more.</summary>
    Incomplete,

    /// <summary>Not a PROXY header, or a malformed one: <see cref="ProxyHeaderResult.Error"/> says why.</summary>
    Invalid,

    /// <summary>A header with the client's addresses.</summary>
    Proxied,

    /// <summary>A header without addresses (v1 <c>UNKNOWN</c>, v2 <c>LOCAL</c> or a family we do not carry): the connection's own addresses stand.</summary>
    Local,
}

/// <param name="Length">Bytes of the header, to skip before the client's data (when complete).</param>
public readonly record struct ProxyHeaderResult(ProxyHeaderStatus Status, int Length = 0, IPEndPoint? Source = null,
    IPEndPoint? Destination = null, string? Error = null)
{
    public static ProxyHeaderResult Incomplete => new(ProxyHeaderStatus.Incomplete);

    public static ProxyHeaderResult Invalid(string error) => new(ProxyHeaderStatus.Invalid, Error: error);
}

/// <summary>
/// The PROXY protocol (HAProxy's <c>doc/proxy-protocol.txt</c>), versions 1 (a text line) and 2
/// (binary): a load balancer puts it before the client's bytes to say who the client is.
/// Parsing accepts a header fed in any number of pieces and names what is wrong with a bad one;
/// building writes the header a proxy sends for a client.
/// </summary>
public static class ProxyHeader
{
    /// <summary>The longest v1 line the specification allows, CRLF included.</summary>
    public const int V1MaxLength = 107;

    /// <summary>The longest v2 header accepted (16 bytes and addresses with TLVs); the specification allows 64 KiB, no sender needs it.</summary>
    public const int V2MaxLength = 16 + 2048;

    private static readonly byte[] V1Prefix = "PROXY "u8.ToArray();

    private static readonly byte[] V2Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private const byte V2Version = 0x20;
    private const byte V2CommandLocal = 0x00, V2CommandProxy = 0x01;
    private const byte V2FamilyTcp4 = 0x11, V2FamilyTcp6 = 0x21;

    /// <summary>Reads a header from the start of <paramref name="buffer"/>, as far as it has come.</summary>
    public static ProxyHeaderResult Parse(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsEmpty)
            return ProxyHeaderResult.Incomplete;
        // Both headers are short: look at one in a span, no further than it can reach (the
        // client's own bytes often follow in the same read).
        bool v2 = buffer.FirstSpan[0] == V2Signature[0];
        int look = (int)Math.Min(buffer.Length, v2 ? V2Extent(buffer) : V1MaxLength);
        Span<byte> head = look <= 512 ? stackalloc byte[look] : new byte[look];
        buffer.Slice(0, look).CopyTo(head);
        return v2 ? ParseV2(head) : ParseV1(head);
    }

    /// <summary>How far a v2 header reaches: its 16 fixed bytes and the length they give (the fixed bytes alone when that is too long).</summary>
    private static int V2Extent(ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < 16)
            return 16;
        Span<byte> length = stackalloc byte[2];
        buffer.Slice(14, 2).CopyTo(length);
        int extent = 16 + BinaryPrimitives.ReadUInt16BigEndian(length);
        return extent > V2MaxLength ? 16 : extent;
    }

    private static ProxyHeaderResult ParseV1(ReadOnlySpan<byte> head)
    {
        int prefix = Math.Min(head.Length, V1Prefix.Length);
        if (!head[..prefix].SequenceEqual(V1Prefix.AsSpan(0, prefix)))
            return ProxyHeaderResult.Invalid("not a PROXY protocol header");
        int end = head[..Math.Min(head.Length, V1MaxLength)].IndexOf("\r\n"u8);
        if (end < 0)
        {
            return head.Length >= V1MaxLength
                ? ProxyHeaderResult.Invalid($"v1 header without CRLF in its first {V1MaxLength} bytes")
                : ProxyHeaderResult.Incomplete;
        }
        foreach (byte b in head[..end])
        {
            if (b is < 0x20 or > 0x7E)
                return ProxyHeaderResult.Invalid("v1 header with a byte that is not printable ASCII");
        }
        string[] fields = Encoding.ASCII.GetString(head[..end]).Split(' ');
        int length = end + 2;
        if (fields.Length >= 2 && fields[1] == "UNKNOWN")
            return new ProxyHeaderResult(ProxyHeaderStatus.Local, length);
        if (fields.Length != 6)
            return ProxyHeaderResult.Invalid($"v1 header with {fields.Length} fields (PROXY TCP4|TCP6 SRC DST SPORT DPORT has 6)");
        AddressFamily family = fields[1] switch
        {
            "TCP4" => AddressFamily.InterNetwork,
            "TCP6" => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        };
        if (family == AddressFamily.Unknown)
            return ProxyHeaderResult.Invalid($"v1 header with protocol '{fields[1]}' (TCP4, TCP6 or UNKNOWN)");
        if (!TryAddress(fields[2], family, out IPAddress? source) || !TryAddress(fields[3], family, out IPAddress? destination))
            return ProxyHeaderResult.Invalid($"v1 header with an address that is not {fields[1]}");
        if (!TryPort(fields[4], out int sourcePort) || !TryPort(fields[5], out int destinationPort))
            return ProxyHeaderResult.Invalid("v1 header with a port that is not 0-65535");
        return new ProxyHeaderResult(ProxyHeaderStatus.Proxied, length, new IPEndPoint(source, sourcePort), new IPEndPoint(destination, destinationPort));
    }

    private static bool TryAddress(string text, AddressFamily family, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        // IPAddress.TryParse also takes "1", "0x7f.0.0.1" or "010.0.0.1" (octal) for IPv4, and
        // scope ids for IPv6: the header has decimal dotted quads and plain IPv6 text only.
        if (family == AddressFamily.InterNetwork && !IsDecimalDottedQuad(text))
            return false;
        if (text.Contains('%', StringComparison.Ordinal))
            return false;
        return IPAddress.TryParse(text, out address) && address.AddressFamily == family;
    }

    private static bool IsDecimalDottedQuad(string text)
    {
        string[] parts = text.Split('.');
        return parts.Length == 4 && parts.All(part => part.Length is >= 1 and <= 3 && part.All(char.IsAsciiDigit)
            && (part.Length == 1 || part[0] != '0') && int.Parse(part, CultureInfo.InvariantCulture) <= 255);
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port)
        && text.Length <= 5 && port <= 65535 && (text.Length == 1 || text[0] != '0');

    private static ProxyHeaderResult ParseV2(ReadOnlySpan<byte> head)
    {
        int signature = Math.Min(head.Length, V2Signature.Length);
        if (!head[..signature].SequenceEqual(V2Signature.AsSpan(0, signature)))
            return ProxyHeaderResult.Invalid("not a PROXY protocol header");
        if (head.Length < 16)
            return ProxyHeaderResult.Incomplete;
        byte versionCommand = head[12];
        if ((versionCommand & 0xF0) != V2Version)
            return ProxyHeaderResult.Invalid($"v2 header with version {versionCommand >> 4} (2 is known)");
        int command = versionCommand & 0x0F;
        if (command is not (V2CommandLocal or V2CommandProxy))
            return ProxyHeaderResult.Invalid($"v2 header with command {command} (LOCAL or PROXY)");
        int addressLength = BinaryPrimitives.ReadUInt16BigEndian(head[14..16]);
        int length = 16 + addressLength;
        if (length > V2MaxLength)
            return ProxyHeaderResult.Invalid($"v2 header of {length} bytes (at most {V2MaxLength} accepted)");
        if (head.Length < length)
            return ProxyHeaderResult.Incomplete;
        if (command == V2CommandLocal)
            return new ProxyHeaderResult(ProxyHeaderStatus.Local, length);
        var addresses = head[16..length];
        switch (head[13])
        {
            case V2FamilyTcp4:
                if (addresses.Length < 12)
                    return ProxyHeaderResult.Invalid("v2 TCP4 header shorter than its addresses");
                return new ProxyHeaderResult(ProxyHeaderStatus.Proxied, length,
                    new IPEndPoint(new IPAddress(addresses[..4]), BinaryPrimitives.ReadUInt16BigEndian(addresses[8..10])),
                    new IPEndPoint(new IPAddress(addresses[4..8]), BinaryPrimitives.ReadUInt16BigEndian(addresses[10..12])));
            case V2FamilyTcp6:
                if (addresses.Length < 36)
                    return ProxyHeaderResult.Invalid("v2 TCP6 header shorter than its addresses");
                return new ProxyHeaderResult(ProxyHeaderStatus.Proxied, length,
                    new IPEndPoint(new IPAddress(addresses[..16]), BinaryPrimitives.ReadUInt16BigEndian(addresses[32..34])),
                    new IPEndPoint(new IPAddress(addresses[16..32]), BinaryPrimitives.ReadUInt16BigEndian(addresses[34..36])));
            default:
                // UDP, Unix sockets or unspecified: a proxy may send them; the connection's own addresses stand.
                return new ProxyHeaderResult(ProxyHeaderStatus.Local, length);
        }
    }

    /// <summary>A v1 line for a TCP client at <paramref name="source"/> that connected to <paramref name="destination"/>.</summary>
    public static byte[] V1(IPEndPoint source, IPEndPoint destination)
    {
        var (from, to) = SameFamily(source.Address, destination.Address);
        string protocol = from.AddressFamily == AddressFamily.InterNetwork ? "TCP4" : "TCP6";
        return Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"PROXY {protocol} {from} {to} {source.Port} {destination.Port}\r\n"));
    }

    /// <summary>A v2 PROXY header (no TLVs) for a TCP client at <paramref name="source"/> that connected to <paramref name="destination"/>.</summary>
    public static byte[] V2(IPEndPoint source, IPEndPoint destination)
    {
        var (from, to) = SameFamily(source.Address, destination.Address);
        bool v4 = from.AddressFamily == AddressFamily.InterNetwork;
        int addressBytes = v4 ? 4 : 16;
        var header = new byte[16 + 2 * addressBytes + 4];
        V2Signature.CopyTo(header, 0);
        header[12] = V2Version | V2CommandProxy;
        header[13] = v4 ? V2FamilyTcp4 : V2FamilyTcp6;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)(header.Length - 16));
        from.TryWriteBytes(header.AsSpan(16, addressBytes), out _);
        to.TryWriteBytes(header.AsSpan(16 + addressBytes, addressBytes), out _);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(16 + 2 * addressBytes), (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(18 + 2 * addressBytes), (ushort)destination.Port);
        return header;
    }

    /// <summary>Both addresses in one family, as the header carries one: IPv4 where both are (or map to) IPv4, IPv6 otherwise.</summary>
    private static (IPAddress From, IPAddress To) SameFamily(IPAddress from, IPAddress to)
    {
        // A link-local peer's scope id is local to this host, and the header has no room for it.
        if (from.AddressFamily == AddressFamily.InterNetworkV6 && from.ScopeId != 0)
            from = new IPAddress(from.GetAddressBytes());
        if (to.AddressFamily == AddressFamily.InterNetworkV6 && to.ScopeId != 0)
            to = new IPAddress(to.GetAddressBytes());
        if (from.IsIPv4MappedToIPv6)
            from = from.MapToIPv4();
        if (to.IsIPv4MappedToIPv6)
            to = to.MapToIPv4();
        if (from.AddressFamily == to.AddressFamily)
            return (from, to);
        return (from.MapToIPv6(), to.MapToIPv6());
    }
}
