using Ferry.Client.Net;

namespace Ferry.Tests;

public sealed class UnixSocketAddressTests
{
    [Theory]
    [InlineData("/tmp/ferry.sock", false, "/tmp/ferry.sock")]
    [InlineData("relative.sock", false, "relative.sock")]
    [InlineData("@ferry", true, null)]
    public void Parses(string text, bool isAbstract, string? filePath)
    {
        Assert.True(UnixSocketAddress.TryParse(text, out var address, out string error), error);
        Assert.Equal(isAbstract, address.IsAbstract);
        Assert.Equal(filePath, address.FilePath);
        Assert.Equal(text, address.ToString());
    }

    [Fact]
    public void AnAbstractNameStartsWithANulAndHasItsExactLength()
    {
        Assert.True(UnixSocketAddress.TryParse("@ferry", out var address, out _));
        Assert.Equal("@ferry", address.EndPoint.ToString());
        // sun_family (2 bytes), then NUL and the name without a closing NUL.
        Assert.Equal(2 + 1 + 5, address.EndPoint.Serialize().Size);
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("@", "must not be empty")]
    [InlineData("a\0b", "NUL")]
    public void Rejects(string text, string message)
    {
        Assert.False(UnixSocketAddress.TryParse(text, out var address, out string error));
        Assert.Null(address);
        Assert.Contains(message, error);
    }

    [Fact]
    public void APathMustFitSunPath()
    {
        Assert.True(UnixSocketAddress.TryParse("/" + new string('a', UnixSocketAddress.MaxBytes - 1), out _, out _));
        Assert.False(UnixSocketAddress.TryParse("/" + new string('a', UnixSocketAddress.MaxBytes), out _, out string error));
        Assert.Contains("longer than 107 bytes", error);
        // Bytes, not characters: 54 two-byte characters are 108 bytes.
        Assert.False(UnixSocketAddress.TryParse(new string('é', 54), out _, out _));
        Assert.True(UnixSocketAddress.TryParse("@" + new string('a', UnixSocketAddress.MaxBytes), out _, out _));
    }
}
