using System.Globalization;

namespace Ferry.Bench.Reports;

/// <summary>The report for people: a few aligned lines.</summary>
internal static class BenchReportText
{
    public static void Write(TextWriter output, BenchReport report)
    {
        BenchSettings s = report.Settings;
        string rate = s.Rate is not double r ? string.Empty
            : s.Mode == BenchMode.Chat ? $", open loop at {Rate(r)} lines/s per member"
            : $", open loop at {Rate(r)} msg/s";
        bool udp = s.Transport == BenchTransport.Udp;
        string connections = udp
            ? Invariant($"{s.Connections} sender(s), {s.MessageSize} B datagrams, loss timeout {s.LossTimeout.TotalSeconds:0.###} s")
            : Invariant($"{s.Connections} connection(s), {s.MessageSize} B");
        output.WriteLine($"{BenchSettings.NameOf(s.Mode)} {s.Address}: {connections}, "
            + Invariant($"{s.Duration.TotalSeconds:0.###} s after {s.Warmup.TotalSeconds:0.###} s warm-up{rate}, ")
            + $"{BenchSettings.NameOf(s.EngineInUse)} engine");

        if (report.IdleConnections is int held)
        {
            output.WriteLine($"  connections held  {held}");
        }
        else
        {
            string unit = udp ? "datagrams" : "messages";
            output.WriteLine(Invariant($"  {unit,-17} {report.Messages:N0} in {report.Measured.TotalSeconds:0.000} s"));
            string offered = report.OfferedMessagesPerSecond is double o ? $" of {Number(o)} offered" : string.Empty;
            output.WriteLine($"  rate              {Number(report.MessagesPerSecond)} {(udp ? "datagrams" : "msg")}/s{offered}");
            if (report.LossRate is double lossRate)
            {
                output.WriteLine(Invariant(
                    $"  lost              {report.Lost:N0} ({lossRate * 100:0.###}%), {report.Late:N0} echoed after the loss timeout"));
            }
            output.WriteLine(Invariant($"  throughput        {report.MegabytesPerSecond:N1} MB/s"));
        }

        if (report.Latency is LatencySummary latency)
        {
            output.WriteLine(Invariant(
                $"  latency (us)      p50 {latency.P50}  p90 {latency.P90}  p99 {latency.P99}  ")
                + Invariant($"p99.9 {latency.P999}  max {latency.Max}  mean {latency.Mean}"));
        }

        if (report.ServerRssBefore is long before && report.ServerRssAfter is long after)
        {
            string perConnection = report.ServerBytesPerConnection is double bytes
                ? Invariant($", {bytes / 1024:0.00} KiB per connection")
                : string.Empty;
            output.WriteLine(Invariant(
                $"  server RSS        {before / 1024.0 / 1024:0.0} MiB -> {after / 1024.0 / 1024:0.0} MiB{perConnection}"));
        }

        if (report.ServerCpu is TimeSpan serverCpu)
        {
            // Per operation in the unit that mode is about.
            double? perOperation = s.Mode == BenchMode.Bulk ? report.ServerCpuMicrosecondsPerMegabyte : report.ServerCpuMicrosecondsPerMessage;
            string unit = s.Mode switch
            {
                BenchMode.Bulk => "MB",
                BenchMode.Connect => "connection",
                BenchMode.Chat => "delivery",
                _ when udp => "datagram",
                _ => "message",
            };
            string cost = perOperation is double us ? Invariant($", {us:#,0.00} us per {unit}") : string.Empty;
            output.WriteLine(Invariant(
                $"  server CPU        {serverCpu.TotalSeconds:0.000} s ({report.CoreShare(serverCpu) * 100:0}% of a core){cost}"));
        }

        if (report.IdleConnections is null)
        {
            output.WriteLine(Invariant(
                $"  client GC         {report.ClientGen0Collections} gen0 collections, {report.ClientAllocatedBytes / 1024.0:N0} KiB allocated while measuring"));
            if (report.ClientCpu is TimeSpan clientCpu)
                output.WriteLine(Invariant($"  client CPU        {clientCpu.TotalSeconds:0.000} s ({report.CoreShare(clientCpu) * 100:0}% of a core)"));
        }

        output.WriteLine(report.Errors == 0
            ? "  errors            0"
            : Invariant($"  errors            {report.Errors} ({report.CorruptBytes} corrupt bytes); first: {report.FirstError}"));
    }

    private static string Number(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A rate as given: fractions kept (0.5 lines/s per member is not 1).</summary>
    private static string Rate(double value) => value.ToString("#,0.###", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
