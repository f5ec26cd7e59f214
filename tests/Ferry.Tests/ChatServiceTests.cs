using System.Buffers;
using System.Text;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Services;
using Ferry.Daemon.Services.Chat;
using Ferry.Daemon.Services.Fanout;
using Ferry.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Tests;

public sealed class ChatServiceTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static ChatService NewChat(int maxLine = 16, OverlongLinePolicy overlong = OverlongLinePolicy.Discard) =>
        new(new ChatOptions(new LineOptions(maxLine, overlong), OutboundLimits.Default), TimeProvider.System, NullLogger.Instance);

    /// <summary>Runs one client through a fresh chat, feeding <paramref name="input"/> in the given chunks; returns all it was sent.</summary>
    private static async Task<(string Output, CloseReason Reason)> RunAsync(IEnumerable<byte[]> chunks, OverlongLinePolicy overlong = OverlongLinePolicy.Discard)
    {
        await using var chat = NewChat(overlong: overlong);
        using var connection = new InMemoryConnection();
        var run = connection.Run(chat);
        foreach (var chunk in chunks)
        {
            await connection.ClientWriter.WriteAsync(chunk, Token);
            if (run.IsCompleted)
                break;
        }
        await connection.ClientWriter.CompleteAsync();
        var reason = await run.WaitAsync(InMemoryConnection.Timeout, Token);
        Assert.True(connection.ClientReader.TryRead(out var read));
        string output = Encoding.UTF8.GetString(read.Buffer.ToArray());
        connection.ClientReader.AdvanceTo(read.Buffer.End);
        return (output, reason);
    }

    [Fact]
    public async Task FramingRules_SameRepliesByteByByteAndAllAtOnce()
    {
        byte[] input = [.. "/nick ann\r\n/who\n"u8, .. new byte[40], .. "\n/nick a\0b\n/nick x"u8, 0xff, .. "\n/rooms\n/who"u8];
        var allAtOnce = await RunAsync([input]);
        var byteByByte = await RunAsync(input.Select(b => new[] { b }));
        Assert.Equal(allAtOnce, byteByByte);
        string[] lines = allAtOnce.Output.TrimEnd('\n').Split('\n');
        Assert.Equal([
            "* you are guest-1 in #lobby (1 member); /help lists commands",
            "* you are now ann",
            "* #lobby: ann",
            "! line too long (max 16 bytes); discarded",
            "* you are now ab",                       // NUL removed
            "! invalid nick 'x\uFFFD': " + ChatNames.NickRule, // invalid UTF-8 replaced, then refused
            "* rooms: #lobby (1)",
            "* #lobby: ab",                           // the unterminated last line counts at end of stream
        ], lines);
        Assert.Equal(CloseReason.PeerClosed, allAtOnce.Reason);
    }

    [Fact]
    public async Task OverlongClose_SendsTheErrorAndEndsTheConnection()
    {
        byte[] input = [.. "/who\n"u8, .. Encoding.ASCII.GetBytes(new string('x', 17)), .. "\n/who\n"u8];
        var (output, reason) = await RunAsync([input], OverlongLinePolicy.Close);
        Assert.Equal(CloseReason.LineTooLong, reason);
        Assert.EndsWith("* #lobby: guest-1\n! line too long (max 16 bytes); closing\n", output);
    }

    [Fact]
    public async Task QuitSaysByeAndEnds()
    {
        var (output, reason) = await RunAsync(["/quit\nnever\n"u8.ToArray()]);
        Assert.Equal(CloseReason.ClientQuit, reason);
        Assert.EndsWith("* bye\n", output);
    }

    [Fact]
    public async Task Stopping_TellsTheClientAndEnds()
    {
        await using var chat = NewChat();
        using var connection = new InMemoryConnection();
        var run = connection.Run(chat);
        connection.Stop();
        Assert.Equal(CloseReason.Shutdown, await run.WaitAsync(InMemoryConnection.Timeout, Token));
        Assert.True(connection.ClientReader.TryRead(out var read));
        Assert.EndsWith("* server shutting down\n", Encoding.UTF8.GetString(read.Buffer.ToArray()));
    }
}
