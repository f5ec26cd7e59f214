using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Ferry.Platform.Linux;

namespace Ferry.Platform.Net;

/// <summary>
/// <c>sockaddr_in</c> and <c>sockaddr_in6</c> as the kernel reads and writes them: the family in
/// host byte order, the port in network order, then the address.
/// </summary>
public static class SocketAddressBytes
{
    /// <summary>The bytes of <paramref name="endPoint"/>, for connect.</summary>
    public static byte[] Of(IPEndPoint endPoint)
    {
        bool v6 = endPoint.AddressFamily == AddressFamily.InterNetworkV6;
        var address = new byte[v6 ? 28 : 16];
        BinaryPrimitives.WriteUInt16LittleEndian(address, (ushort)(v6 ? SocketCalls.AddressFamilyInet6 : SocketCalls.AddressFamilyInet));
        BinaryPrimitives.WriteUInt16BigEndian(address.AsSpan(2), (ushort)endPoint.Port);
        if (v6)
        {
            endPoint.Address.TryWriteBytes(address.AsSpan(8, 16), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(address.AsSpan(24), (uint)endPoint.Address.ScopeId);
        }
        else
        {
            endPoint.Address.TryWriteBytes(address.AsSpan(4, 4), out _);
        }
        return address;
    }

    /// <summary>The endpoint the kernel wrote (accept4, getsockname), or null for a family other than IPv4 and IPv6.</summary>
    public static IPEndPoint? ToEndPoint(ReadOnlySpan<byte> address)
    {
        if (address.Length < 16)
            return null;
        int family = BinaryPrimitives.ReadUInt16LittleEndian(address);
        int port = BinaryPrimitives.ReadUInt16BigEndian(address[2..]);
        if (family == SocketCalls.AddressFamilyInet)
            return new IPEndPoint(new IPAddress(address.Slice(4, 4)), port);
        if (family == SocketCalls.AddressFamilyInet6 && address.Length >= 28)
            return new IPEndPoint(new IPAddress(address.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(address[24..])), port);
        return null;
    }
}
