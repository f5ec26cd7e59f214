using Ferry.Daemon.Listeners;

namespace Ferry.Tests;

public sealed class ListenerSpecTests
{
    [Theory]
    [InlineData("7", null, 7, "echo")]
    [InlineData("0", null, 0, "echo")]
    [InlineData("65535", null, 65535, "echo")]
    [InlineData("127.0.0.1:7", "127.0.0.1", 7, "echo")]
    [InlineData("[::1]:7=chargen", "::1", 7, "chargen")]
    [InlineData("localhost:0=discard", "localhost", 0, "discard")]
    [InlineData("*:80", null, 80, "echo")]
    [InlineData("*:13=daytime", null, 13, "daytime")]
    [InlineData("19=CHARGEN", null, 19, "chargen")]
    [InlineData("9=Discard", null, 9, "discard")]
    [InlineData("[::]:7=Echo", "::", 7, "echo")]
    public void Parses(string text, string? host, int port, string service)
    {
        Assert.True(ListenerSpec.TryParse(text, out var spec, out string error), error);
        Assert.NotNull(spec);
        Assert.Equal(host, spec.Host);
        Assert.Equal(port, spec.Port);
        Assert.Equal(service, spec.Service);
        Assert.Equal("", error);
    }

    [Fact]
    public void DefaultServiceIsEcho()
    {
        Assert.Equal("echo", ListenerSpec.DefaultService);
        Assert.True(ListenerSpec.TryParse("1234", out var spec, out _));
        Assert.Equal("echo", spec!.Service);
    }

    [Theory]
    [InlineData("70000", "70000")]
    [InlineData("65536", "65536")]
    [InlineData("-1", "-1")]
    [InlineData("abc", "abc")]
    [InlineData("+7", "+7")]
    [InlineData(" 7", " 7")]
    [InlineData("127.0.0.1:", "port ''")]
    [InlineData("127.0.0.1:x", "port 'x'")]
    public void RejectsBadPort(string text, string mentioned)
    {
        Assert.False(ListenerSpec.TryParse(text, out var spec, out string error));
        Assert.Null(spec);
        Assert.Contains("port", error);
        Assert.Contains(mentioned, error);
        Assert.Contains("0-65535", error);
    }

    [Theory]
    [InlineData("::1:7")]
    [InlineData("fe80::1:7=echo")]
    public void RejectsUnbracketedIpv6(string text)
    {
        Assert.False(ListenerSpec.TryParse(text, out var spec, out string error));
        Assert.Null(spec);
        Assert.Contains("put an IPv6 address in brackets", error);
        Assert.Contains(text, error);
    }

    [Theory]
    [InlineData("[::1]7")]
    [InlineData("[::1]")]
    [InlineData("[::1")]
    [InlineData("[::1]:")]
    public void RejectsMalformedBrackets(string text)
    {
        Assert.False(ListenerSpec.TryParse(text, out var spec, out string error));
        Assert.Null(spec);
        Assert.StartsWith("malformed listener", error);
        Assert.Contains(text, error);
    }

    [Theory]
    [InlineData("[zz]:7", "zz")]
    [InlineData("[127.0.0.1]:7", "127.0.0.1")]
    public void RejectsNonIpv6InBrackets(string text, string host)
    {
        Assert.False(ListenerSpec.TryParse(text, out var spec, out string error));
        Assert.Null(spec);
        Assert.Contains($"invalid IPv6 address '[{host}]'", error);
    }

    [Fact]
    public void RejectsEmptyAddress()
    {
        Assert.False(ListenerSpec.TryParse(":7", out var spec, out string error));
        Assert.Null(spec);
        Assert.Contains("missing address before ':'", error);
    }

    [Theory]
    [InlineData("1.2.3.4:7=nosuch", "nosuch")]
    [InlineData("7=", "")]
    [InlineData("7=time", "time")]
    public void RejectsUnknownService(string text, string service)
    {
        Assert.False(ListenerSpec.TryParse(text, out var spec, out string error));
        Assert.Null(spec);
        Assert.Contains($"unknown service '{service}'", error);
        // The message lists what is available.
        foreach (string known in new[] { "echo", "discard", "daytime", "chargen" })
            Assert.Contains(known, error);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("7", 7)]
    [InlineData("65535", 65535)]
    [InlineData("00080", 80)]
    public void TryParsePort_Accepts(string text, int expected)
    {
        Assert.True(ListenerSpec.TryParsePort(text, out int port));
        Assert.Equal(expected, port);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("65536")]
    [InlineData("99999999999")]
    [InlineData("1 ")]
    [InlineData(" 1")]
    [InlineData("0x50")]
    [InlineData("1.5")]
    public void TryParsePort_Rejects(string text) => Assert.False(ListenerSpec.TryParsePort(text, out _));

    [Theory]
    [InlineData("7", "echo *:7")]
    [InlineData("[::1]:7=chargen", "chargen [::1]:7")]
    [InlineData("127.0.0.1:13=daytime", "daytime 127.0.0.1:13")]
    public void FormatsBack(string text, string expected)
    {
        Assert.True(ListenerSpec.TryParse(text, out var spec, out _));
        Assert.Equal(expected, spec!.ToString());
    }

    [Fact]
    public void ServiceOptionsFollowTheServiceName()
    {
        Assert.True(ListenerSpec.TryParse("127.0.0.1:0=chargen,Path=/tmp/a=b,limit=4", out var spec, out string error), error);
        Assert.Equal("chargen", spec!.Service);
        Assert.Equal(2, spec.Options.Count);
        Assert.Equal("/tmp/a=b", spec.Options["path"]);
        Assert.Equal("4", spec.Options["LIMIT"]);
    }

    [Theory]
    [InlineData("7=echo,novalue", "option 'novalue' is not KEY=VALUE")]
    [InlineData("7=echo,=3", "option '=3' is not KEY=VALUE")]
    [InlineData("7=echo,a=1,A=2", "option 'A' given twice")]
    public void MalformedOptionsAreRejected(string text, string problem)
    {
        Assert.False(ListenerSpec.TryParse(text, out var spec, out string error));
        Assert.Null(spec);
        Assert.Contains(problem, error);
    }
}
