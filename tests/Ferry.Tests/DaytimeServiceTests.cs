using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Services;

namespace Ferry.Tests;

public sealed class DaytimeServiceTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A clock stopped at one instant, in a chosen time zone.</summary>
    private sealed class FixedTime(DateTimeOffset utcNow, TimeSpan zoneOffset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => utcNow;

        public override TimeZoneInfo LocalTimeZone { get; } =
            TimeZoneInfo.CreateCustomTimeZone("Test/Fixed", zoneOffset, "Test fixed", "Test fixed");
    }

    private static async Task<(CloseReason Reason, string Text, InMemoryConnection Connection)> RunAsync(
        DateTimeOffset utcNow, TimeSpan zoneOffset)
    {
        var connection = new InMemoryConnection();
        var reason = await connection.Run(new DaytimeService(new FixedTime(utcNow, zoneOffset)))
            .WaitAsync(InMemoryConnection.Timeout, Token);
        await connection.ToClient.Writer.CompleteAsync(); // the transport closes after the service returns
        var read = await connection.ClientReader.ReadAsync(Token);
        string text = Encoding.ASCII.GetString(read.Buffer.ToArray());
        connection.ClientReader.AdvanceTo(read.Buffer.End);
        return (reason, text, connection);
    }

    [Theory]
    [InlineData(2026, 11, 26, 3, 11, 28, 330, "Thu, 26 Nov 2026 08:41:28 +05:30")]
    [InlineData(2026, 11, 26, 3, 11, 28, 0, "Thu, 26 Nov 2026 03:11:28 +00:00")]
    [InlineData(2026, 1, 1, 1, 0, 0, -180, "Wed, 31 Dec 2025 22:00:00 -03:00")]
    [InlineData(2024, 2, 29, 23, 59, 59, 60, "Fri, 01 Mar 2024 00:59:59 +01:00")]
    public async Task SendsOneLineInLocalTime_ThenServiceDone(
        int year, int month, int day, int hour, int minute, int second, int offsetMinutes, string expected)
    {
        var utc = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero);
        var (reason, text, connection) = await RunAsync(utc, TimeSpan.FromMinutes(offsetMinutes));
        using (connection)
        {
            Assert.Equal(CloseReason.ServiceDone, reason);
            Assert.Equal(expected + "\r\n", text);
            Assert.Equal(text.Length, connection.Stats.BytesOut);
            Assert.Equal(0, connection.Stats.BytesIn);
        }
    }

    [Fact]
    public async Task LineMatchesDocumentedFormat()
    {
        var (reason, text, connection) = await RunAsync(new DateTimeOffset(2030, 7, 4, 12, 0, 5, TimeSpan.Zero), TimeSpan.FromHours(-7));
        using (connection)
        {
            Assert.Equal(CloseReason.ServiceDone, reason);
            Assert.Matches(new Regex(@"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2}\r\n\z"), text);
            Assert.Equal("ddd, dd MMM yyyy HH:mm:ss zzz", DaytimeService.Format);
            Assert.Equal("Thu, 04 Jul 2030 05:00:05 -07:00\r\n", text);
        }
    }

    [Fact]
    public async Task ClientGone_EndsWithPeerReset()
    {
        using var connection = new InMemoryConnection();
        await connection.ClientReader.CompleteAsync();
        var reason = await connection.Run(new DaytimeService(new FixedTime(DateTimeOffset.UnixEpoch, TimeSpan.Zero)))
            .WaitAsync(InMemoryConnection.Timeout, Token);
        Assert.Equal(CloseReason.PeerReset, reason);
        Assert.Equal(0, connection.Stats.BytesOut);
    }
}
