using System.Buffers;
using System.Net;
using System.Text;
using Ferry.Protocol;

namespace Ferry.Tests;

public sealed class ProxyHeaderTests
{
    private static readonly IPEndPoint Client4 = IPEndPoint.Parse("192.0.2.10:51000");
    private static readonly IPEndPoint Server4 = IPEndPoint.Parse("198.51.100.7:443");
    private static readonly IPEndPoint Client6 = IPEndPoint.Parse("[2001:db8::1]:40000");
    private static readonly IPEndPoint Server6 = IPEndPoint.Parse("[2001:db8::2]:8080");

    private static ProxyHeaderResult Parse(byte[] bytes) => ProxyHeader.Parse(new ReadOnlySequence<byte>(bytes));

    public static TheoryData<string, byte[]> Headers() => new()
    {
        { "v1 TCP4", ProxyHeader.V1(Client4, Server4) },
        { "v1 TCP6", ProxyHeader.V1(Client6, Server6) },
        { "v2 TCP4", ProxyHeader.V2(Client4, Server4) },
        { "v2 TCP6", ProxyHeader.V2(Client6, Server6) },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void HeaderFedByteByByteIsIncompleteUntilItsLastByteThenParsed(string name, byte[] header)
    {
        byte[] withData = [.. header, .. "GET /"u8.ToArray()];
        for (int length = 0; length < header.Length; length++)
            Assert.True(Parse(withData[..length]).Status == ProxyHeaderStatus.Incomplete, $"{name}: {length} bytes");
        var parsed = Parse(withData);
        Assert.Equal(ProxyHeaderStatus.Proxied, parsed.Status);
        Assert.Equal(header.Length, parsed.Length);
        bool v6 = name.EndsWith("6", StringComparison.Ordinal);
        Assert.Equal(v6 ? Client6 : Client4, parsed.Source);
        Assert.Equal(v6 ? Server6 : Server4, parsed.Destination);
    }

    [Theory]
    [MemberData(nameof(Headers))]
    public void HeaderSplitAcrossSegmentsParsesAlike(string name, byte[] header)
    {
        var parsed = ProxyHeader.Parse(Sequences.RandomlySegmented(header, new Random(name.Length), maxSegment: 3));
        Assert.Equal(ProxyHeaderStatus.Proxied, parsed.Status);
        Assert.Equal(header.Length, parsed.Length);
    }

    [Fact]
    public void V1IsTheSpecificationsLine()
    {
        Assert.Equal("PROXY TCP4 192.0.2.10 198.51.100.7 51000 443\r\n", Encoding.ASCII.GetString(ProxyHeader.V1(Client4, Server4)));
        // An IPv4 client on a dual-stack socket arrives mapped; the header carries it as IPv4.
        var mapped = new IPEndPoint(IPAddress.Parse("192.0.2.10").MapToIPv6(), 51000);
        Assert.Equal("PROXY TCP4 192.0.2.10 198.51.100.7 51000 443\r\n", Encoding.ASCII.GetString(ProxyHeader.V1(mapped, Server4)));
    }

    [Fact]
    public void V2IsTheSpecificationsBinaryLayout()
    {
        byte[] header = ProxyHeader.V2(Client4, Server4);
        Assert.Equal(Convert.FromHexString("0D0A0D0A000D0A515549540A" + "21" + "11" + "000C" + "C000020A" + "C6336407" + "C738" + "01BB"), header);
    }

    [Theory]
    [InlineData("PROXY UNKNOWN\r\n")]
    [InlineData("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n")]
    public void V1UnknownKeepsTheConnectionsOwnAddresses(string line)
    {
        var parsed = Parse(Encoding.ASCII.GetBytes(line + "data"));
        Assert.Equal(ProxyHeaderStatus.Local, parsed.Status);
        Assert.Equal(line.Length, parsed.Length);
    }

    [Fact]
    public void V2LocalKeepsTheConnectionsOwnAddresses()
    {
        byte[] local = Convert.FromHexString("0D0A0D0A000D0A515549540A" + "20" + "00" + "0000");
        var parsed = Parse(local);
        Assert.Equal(ProxyHeaderStatus.Local, parsed.Status);
        Assert.Equal(16, parsed.Length);
    }

    [Fact]
    public void V2TlvsAfterTheAddressesAreSkipped()
    {
        byte[] header = ProxyHeader.V2(Client4, Server4);
        byte[] tlv = [0x04, 0x00, 0x03, 1, 2, 3]; // PP2_TYPE_NOOP with three bytes
        header[15] = (byte)(header[15] + tlv.Length);
        var parsed = Parse([.. header, .. tlv, .. "x"u8.ToArray()]);
        Assert.Equal(ProxyHeaderStatus.Proxied, parsed.Status);
        Assert.Equal(header.Length + tlv.Length, parsed.Length);
        Assert.Equal(Client4, parsed.Source);
    }

    [Theory]
    [InlineData("GET / HTTP/1.0\r\n\r\n", "not a PROXY protocol header")]
    [InlineData("PROXZ TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "not a PROXY protocol header")]
    [InlineData("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "protocol 'TCP5'")]
    [InlineData("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "address that is not TCP4")]
    [InlineData("PROXY TCP4 010.0.0.1 5.6.7.8 1 2\r\n", "address that is not TCP4")]
    [InlineData("PROXY TCP4 0x7f.0.0.1 5.6.7.8 1 2\r\n", "address that is not TCP4")]
    [InlineData("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", "address that is not TCP4")]
    [InlineData("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "address that is not TCP6")]
    [InlineData("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "address that is not TCP4")]
    [InlineData("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "address that is not TCP6")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "port that is not 0-65535")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "port that is not 0-65535")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "5 fields")]
    [InlineData("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "7 fields")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "without CRLF")]
    public void MalformedV1IsInvalidWithTheReason(string text, string reason)
    {
        // Padded, so a header without its CRLF runs past the longest line allowed.
        var parsed = Parse(Encoding.ASCII.GetBytes(text + new string('x', 120)));
        Assert.Equal(ProxyHeaderStatus.Invalid, parsed.Status);
        Assert.Contains(reason, parsed.Error);
    }

    [Fact]
    public void V1WithAControlByteIsInvalid()
    {
        var parsed = Parse(Encoding.ASCII.GetBytes("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n"));
        Assert.Equal(ProxyHeaderStatus.Invalid, parsed.Status);
    }

    [Theory]
    [InlineData("0D0A0D0A000D0A515549540A" + "11" + "11" + "000C", "version 1")]
    [InlineData("0D0A0D0A000D0A515549540A" + "22" + "11" + "000C", "command 2")]
    [InlineData("0D0A0D0A000D0A515549540A" + "21" + "11" + "0004" + "01020304", "shorter than its addresses")]
    [InlineData("0D0A0D0A000D0A515549540A" + "21" + "11" + "FFFF", "bytes (at most")]
    [InlineData("0D0A0D0A000D0A515549540B", "not a PROXY protocol header")]
    public void MalformedV2IsInvalidWithTheReason(string hex, string reason)
    {
        var parsed = Parse(Convert.FromHexString(hex));
        Assert.Equal(ProxyHeaderStatus.Invalid, parsed.Status);
        Assert.Contains(reason, parsed.Error);
    }

    [Fact]
    public void RandomBytesNeverThrowAndNeverParsePastTheirEnd()
    {
        var random = new Random(7);
        for (int i = 0; i < 20_000; i++)
        {
            byte[] bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            if (bytes.Length > 0 && random.Next(2) == 0)
                bytes[0] = (byte)(random.Next(2) == 0 ? 'P' : 0x0D);
            var parsed = Parse(bytes);
            Assert.True(parsed.Status is ProxyHeaderStatus.Incomplete or ProxyHeaderStatus.Invalid || parsed.Length <= bytes.Length);
        }
    }
}
