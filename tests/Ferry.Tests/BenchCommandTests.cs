using System.CommandLine;
using Ferry.Client.Commands;

namespace Ferry.Tests;

/// <summary>
/// ferry bench's argument rules, parsed as ferry-bench parses them when ferry runs it.
/// A parse with errors is what its Program turns into exit code 2 and the one-line report of
/// <see cref="UsageError"/>; the real binary's exit code is checked in the integration tests.
/// </summary>
public sealed class BenchCommandTests
{
    [Theory]
    [InlineData("pingpong")]
    [InlineData("chat")]
    public void RateIsAcceptedForPingPongAndChat(string mode)
    {
        ParseResult parse = Parse("--mode", mode, "--conns", "3", "--rate", "10");

        Assert.Empty(parse.Errors);
    }

    [Theory]
    [InlineData("bulk")]
    [InlineData("connect")]
    [InlineData("idle")]
    public void RateWithAnyOtherModeIsAUsageErrorOfOneLine(string mode)
    {
        ParseResult parse = Parse("--mode", mode, "--conns", "3", "--rate", "10");
        var error = new StringWriter { NewLine = "\n" };
        new BenchCommand(BenchProgramName.ViaFerry).WriteUsageError(error, parse);

        Assert.NotEmpty(parse.Errors);
        Assert.Equal("--rate applies to pingpong and chat modes only", UsageError.Describe(parse));
        Assert.Equal("ferry: --rate applies to pingpong and chat modes only", error.ToString().Split('\n')[0]);
    }

    [Fact]
    public void ChatWithRateStillNeedsItsMembers()
    {
        ParseResult parse = Parse("--mode", "chat", "--rate", "10");

        Assert.Equal("chat mode needs --conns: the number of members in the room (at least 2)", UsageError.Describe(parse));
    }

    [Fact]
    public void TheRateOptionsHelpNamesBothModesAndTheChatUnit()
    {
        Command bench = new BenchCommand(BenchProgramName.ViaFerry).CreateRoot();
        Option rate = bench.Options.Single(option => option.Name == "--rate");

        Assert.Contains("pingpong: total messages per second", rate.Description);
        Assert.Contains("chat: lines per second per member", rate.Description);
    }

    private static ParseResult Parse(params string[] options)
    {
        RootCommand root = new BenchCommand(BenchProgramName.ViaFerry).CreateRoot();
        return root.Parse(["127.0.0.1", "7", .. options], new ParserConfiguration { ResponseFileTokenReplacer = null });
    }
}
