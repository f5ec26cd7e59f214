using System.Text.Json;

namespace Ferry.Client.Bench;

/// <summary>
/// The report for machines: one JSON object. Written field by field with Utf8JsonWriter so
/// the names are a stable contract and no reflection is needed (trimming, AOT).
/// Latencies are microseconds, memory bytes, rates per second; absent values are null.
/// </summary>
internal static class BenchReportJson
{
    public static void Write(Stream output, BenchReport report)
    {
        BenchSettings s = report.Settings;
        using (var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("mode", BenchRun.ModeName(s.Mode));
            json.WriteString("host", s.Host);
            json.WriteNumber("port", s.Target.Port);
            json.WriteNumber("connections", s.Connections);
            json.WriteNumber("size", s.MessageSize);
            json.WriteNumber("durationSeconds", s.Duration.TotalSeconds);
            json.WriteNumber("warmupSeconds", s.Warmup.TotalSeconds);
            WriteNullable(json, "rate", s.Rate);
            json.WriteString("engine", s.UsesEpoll ? "epoll" : "async");
            json.WriteNumber("measuredSeconds", Math.Round(report.Measured.TotalSeconds, 6));
            json.WriteNumber("messages", report.Messages);
            json.WriteNumber("bytes", report.Bytes);
            json.WriteNumber("messagesPerSecond", Math.Round(report.MessagesPerSecond, 1));
            WriteNullable(json, "offeredMessagesPerSecond", report.OfferedMessagesPerSecond is double offered ? Math.Round(offered, 1) : null);
            json.WriteNumber("megabytesPerSecond", Math.Round(report.MegabytesPerSecond, 3));
            json.WriteNumber("errors", report.Errors);
            json.WriteNumber("corruptBytes", report.CorruptBytes);
            if (report.FirstError is null)
                json.WriteNull("firstError");
            else
                json.WriteString("firstError", report.FirstError);

            if (report.Latency is LatencySummary latency)
            {
                json.WriteStartObject("latencyMicroseconds");
                json.WriteNumber("count", latency.Count);
                json.WriteNumber("mean", latency.Mean);
                json.WriteNumber("p50", latency.P50);
                json.WriteNumber("p90", latency.P90);
                json.WriteNumber("p99", latency.P99);
                json.WriteNumber("p99_9", latency.P999);
                json.WriteNumber("max", latency.Max);
                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("latencyMicroseconds");
            }

            WriteNullable(json, "idleConnections", report.IdleConnections);
            WriteNullable(json, "serverRssBeforeBytes", report.ServerRssBefore);
            WriteNullable(json, "serverRssAfterBytes", report.ServerRssAfter);
            WriteNullable(json, "serverBytesPerConnection", report.ServerBytesPerConnection is double b ? Math.Round(b, 1) : null);
            json.WriteNumber("clientGen0Collections", report.ClientGen0Collections);
            json.WriteNumber("clientAllocatedBytes", report.ClientAllocatedBytes);
            json.WriteEndObject();
        }
        output.WriteByte((byte)'\n');
        output.Flush();
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, double? value)
    {
        if (value is double number)
            json.WriteNumber(name, number);
        else
            json.WriteNull(name);
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, long? value)
    {
        if (value is long number)
            json.WriteNumber(name, number);
        else
            json.WriteNull(name);
    }
}
