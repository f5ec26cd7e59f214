using System.Net;
using Ferry.Platform.Net;

namespace Ferry.Tests;

public sealed class EndpointTextTests
{
    [Theory]
    [InlineData("127.0.0.1", 0)]
    [InlineData("10.1.2.3", 65535)]
    [InlineData("::1", 7)]
    [InlineData("fe80::1%4294967295", 65535)]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535)]
    [InlineData("64:ff9b::255.255.255.255", 443)]
    public void APeerReadsAsTheRuntimeWritesIt(string address, int port)
    {
        var endpoint = new IPEndPoint(IPAddress.Parse(address), port);
        Assert.Equal(endpoint.ToString(), EndpointText.Format(endpoint));
    }

    [Fact]
    public void AnIPv4MappedPeerReadsAsItsIPv4Address() =>
        Assert.Equal("10.1.2.3:80", EndpointText.Format(new IPEndPoint(IPAddress.Parse("::ffff:10.1.2.3"), 80)));

    [Fact]
    public void NoPeerIsUnknown() => Assert.Equal("unknown", EndpointText.Format(null));
}
