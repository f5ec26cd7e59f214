using System.Text.Json;

namespace Ferry.Bench.Reports;

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
            json.WriteString("mode", BenchSettings.NameOf(s.Mode));
            json.WriteString("transport", BenchSettings.NameOf(s.Transport));
            bool unix = s.Transport == BenchTransport.Unix;
            WriteNullable(json, "host", unix ? null : s.Host);
            WriteNullable(json, "port", (long?)s.Port);
            WriteNullable(json, "path", unix ? s.Host : null);
            json.WriteNumber("connections", s.Connections);
            json.WriteNumber("size", s.MessageSize);
            json.WriteNumber("durationSeconds", s.Duration.TotalSeconds);
            json.WriteNumber("warmupSeconds", s.Warmup.TotalSeconds);
            WriteNullable(json, "rate", s.Rate);
            json.WriteString("engine", BenchSettings.NameOf(s.EngineInUse));
            json.WriteNumber("measuredSeconds", Math.Round(report.Measured.TotalSeconds, 6));
            json.WriteNumber("messages", report.Messages);
            json.WriteNumber("bytes", report.Bytes);
            json.WriteNumber("messagesPerSecond", Math.Round(report.MessagesPerSecond, 1));
            WriteNullable(json, "offeredMessagesPerSecond", Round(report.OfferedMessagesPerSecond, 1));
            json.WriteNumber("megabytesPerSecond", Math.Round(report.MegabytesPerSecond, 3));
            json.WriteNumber("errors", report.Errors);
            json.WriteNumber("corruptBytes", report.CorruptBytes);
            if (report.FirstError is null)
                json.WriteNull("firstError");
            else
                json.WriteString("firstError", report.FirstError);
            bool udp = s.Transport == BenchTransport.Udp;
            WriteNullable(json, "lossTimeoutSeconds", udp ? s.LossTimeout.TotalSeconds : null);
            WriteNullable(json, "lostDatagrams", udp ? report.Lost : null);
            WriteNullable(json, "lateEchoes", udp ? report.Late : null);
            WriteNullable(json, "lossRate", Round(report.LossRate, 6));

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
            WriteNullable(json, "serverBytesPerConnection", Round(report.ServerBytesPerConnection, 1));
            json.WriteNumber("clientGen0Collections", report.ClientGen0Collections);
            json.WriteNumber("clientAllocatedBytes", report.ClientAllocatedBytes);
            WriteNullable(json, "clientCpuSeconds", Round(report.ClientCpu?.TotalSeconds, 4));
            WriteNullable(json, "serverCpuSeconds", Round(report.ServerCpu?.TotalSeconds, 4));
            WriteNullable(json, "serverCpuMicrosecondsPerMessage", Round(report.ServerCpuMicrosecondsPerMessage, 3));
            WriteNullable(json, "serverCpuMicrosecondsPerMegabyte", Round(report.ServerCpuMicrosecondsPerMegabyte, 1));
            json.WriteEndObject();
        }
        output.WriteByte((byte)'\n');
        output.Flush();
    }

    private static double? Round(double? value, int digits) => value is double number ? Math.Round(number, digits) : null;

    private static void WriteNullable(Utf8JsonWriter json, string name, double? value)
    {
        if (value is double number)
            json.WriteNumber(name, number);
        else
            json.WriteNull(name);
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
            json.WriteNull(name);
        else
            json.WriteString(name, value);
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, long? value)
    {
        if (value is long number)
            json.WriteNumber(name, number);
        else
            json.WriteNull(name);
    }
}
