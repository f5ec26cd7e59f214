using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Ferry.Platform.Linux;

namespace Ferry.Platform.Net;

/// <summary>
/// <c>sockaddr_in</c> and <c>sockaddr_in6</c> as the kernel reads and writes them: the family in
/// host byte order, the port in network order, then the address; and <c>sockaddr_un</c>: the
/// family, then the path and its terminating NUL.
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

    /// <summary>
    /// The <c>sockaddr_un</c> bytes of a Unix socket at <paramref name="path"/>, for connect: as
    /// long as the path needs, with its NUL. A path starting with <c>@</c> names an abstract
    /// socket (a NUL first, no NUL after), as .NET's <see cref="UnixDomainSocketEndPoint"/> reads it.
    /// </summary>
    public static byte[] OfPath(string path)
    {
        bool @abstract = path.StartsWith('@');
        var address = new byte[2 + System.Text.Encoding.UTF8.GetByteCount(path) + (@abstract ? 0 : 1)];
        BinaryPrimitives.WriteUInt16LittleEndian(address, (ushort)SocketCalls.AddressFamilyUnix);
        System.Text.Encoding.UTF8.GetBytes(path, address.AsSpan(2));
        if (@abstract)
            address[2] = 0;
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
