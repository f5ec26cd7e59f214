using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Services;
using Ferry.Daemon.Services.Sink;

namespace Ferry.Daemon.Metrics;

/// <summary>
/// ferryd's instruments, meter <c>Ferry</c> (System.Diagnostics.Metrics; names after
/// OpenTelemetry's conventions, each listed with its Prometheus name in docs/observability.md).
/// Almost all are observable: read at each collection from counts the connections keep anyway
/// (<see cref="ListenerCounters"/>, the transport's byte counts, the services' own), so serving a
/// byte or a connection costs nothing more with metrics on. Only what must be a distribution is
/// recorded where it happens: a connection's duration when it closes, a sink's fsync.
/// Label values are bounded: listener names, services, reasons, upstreams as configured, file
/// paths as configured; never a peer's address.
/// </summary>
internal static class FerryMetrics
{
    public const string MeterName = "Ferry";

    public static readonly Meter Meter = new(MeterName);

    /// <summary>Recorded once per connection, by its handler, when it closes.</summary>
    public static readonly Histogram<double> ConnectionDuration = Meter.CreateHistogram("ferry.connection.duration", "s",
        "How long connections lasted, from accept to close, by listener and close reason.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 21600, 86400] });

    /// <summary>Recorded by a sink's writer around each fsync of its file.</summary>
    public static readonly Histogram<double> SinkFsyncDuration = Meter.CreateHistogram("ferry.sink.fsync.duration", "s",
        "How long fsync of a sink's file took.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] });

    private static readonly ConcurrentDictionary<ListenerSet, byte> Sets = new();

    static FerryMetrics()
    {
        Meter.CreateObservableCounter("ferry.connections.accepted", () => PerListener(l => l.Counters.Accepted),
            "{connection}", "Connections admitted, by listener and service.");
        Meter.CreateObservableUpDownCounter("ferry.connections.active", () => PerListener(l => l.Counters.Active),
            "{connection}", "Connections open now, by listener and service.");
        Meter.CreateObservableCounter("ferry.connections.rejected", Rejected,
            "{connection}", "Connections refused, by listener and reason (the listener key that refused them, or the handshake that failed).");
        Meter.CreateObservableCounter("ferry.received", () => PerListener(l => BytesOf(l, received: true)),
            "By", "Bytes received from clients on the listener's sockets (before TLS decryption).");
        Meter.CreateObservableCounter("ferry.sent", () => PerListener(l => BytesOf(l, received: false)),
            "By", "Bytes sent to clients on the listener's sockets (after TLS encryption).");

        Meter.CreateObservableCounter("ferry.datagrams.received", () => PerListener(l => l.Datagrams.Received, DatagramsOnly),
            "{datagram}", "udp: datagrams received, by listener and service.");
        Meter.CreateObservableCounter("ferry.datagrams.answered", () => PerListener(l => l.Datagrams.Answered, DatagramsOnly),
            "{datagram}", "udp: replies sent, by listener and service.");
        Meter.CreateObservableCounter("ferry.datagrams.dropped", DatagramsDropped,
            "{datagram}", "udp: datagrams not answered, by listener and reason (allow/deny, loop guard, rate, amplification, full send buffer).");

        Meter.CreateObservableUpDownCounter("ferry.fanout.members", () => FromServices(ServiceMetric.FanoutMembers),
            "{connection}", "chat and broker: connections taking part in the fan-out.");
        Meter.CreateObservableCounter("ferry.fanout.messages", () => FromServices(ServiceMetric.FanoutMessages),
            "{message}", "chat: lines and notices published to a room; broker: chunks relayed.");
        Meter.CreateObservableCounter("ferry.fanout.queued", () => FromServices(ServiceMetric.FanoutBytes),
            "By", "Bytes queued for members, each copy counted (a line to a room of 10 counts 9 times).");
        Meter.CreateObservableCounter("ferry.fanout.slow_consumers", () => FromServices(ServiceMetric.FanoutSlowConsumers),
            "{connection}", "Members cut off for not reading (outbound queue over its limits).");
        Meter.CreateObservableUpDownCounter("ferry.fanout.queue.size", () => FromServices(ServiceMetric.FanoutQueuedBytes),
            "By", "Bytes waiting in members' outbound queues now.");

        Meter.CreateObservableGauge("ferry.forward.upstream.up", () => FromServices(ServiceMetric.UpstreamUp),
            "{upstream}", "forward: 1 while the upstream is taken for clients, 0 while it is marked down.");
        Meter.CreateObservableUpDownCounter("ferry.forward.upstream.active", () => FromServices(ServiceMetric.UpstreamActive),
            "{connection}", "forward: pairs open (or connecting) to the upstream now.");
        Meter.CreateObservableCounter("ferry.forward.connect.failures", () => FromServices(ServiceMetric.UpstreamConnectFailures),
            "{connection}", "forward: failed attempts to connect to the upstream, by cause.");

        Meter.CreateObservableUpDownCounter("ferry.exec.children", () => FromServices(ServiceMetric.ExecChildren),
            "{process}", "exec: programs running now (or exited and being ended: reaped, their group signalled).");
        Meter.CreateObservableUpDownCounter("ferry.exec.waiting", () => FromServices(ServiceMetric.ExecWaiting),
            "{connection}", "exec: clients waiting for a free maxChildren slot.");
        Meter.CreateObservableCounter("ferry.exec.exits", () => FromServices(ServiceMetric.ExecExits),
            "{process}", "exec: programs ended, by result (success, failure, signal, not_started, unknown).");

        Meter.CreateObservableGauge("ferry.backplane.up", () => FromServices(ServiceMetric.BackplaneUp),
            "{backplane}", "chat, broker with backplane=: 1 while Redis is reachable, 0 while lines wait.");
        Meter.CreateObservableUpDownCounter("ferry.backplane.buffered", () => FromServices(ServiceMetric.BackplaneBufferedLines),
            "{line}", "Lines said here and not yet in Redis (at most 10,000).");
        Meter.CreateObservableCounter("ferry.backplane.dropped", () => FromServices(ServiceMetric.BackplaneDroppedLines),
            "{line}", "Lines said here that never reached Redis: dropped as the oldest past the buffer's bound.");
        Meter.CreateObservableCounter("ferry.backplane.lost", () => FromServices(ServiceMetric.BackplaneLostLines),
            "{line}", "Lines of other nodes found missing (a gap in a node's sequence) and told to members.");

        Meter.CreateObservableCounter("ferry.sink.lines", () => PerSinkFile(w => w.LinesWritten),
            "{line}", "sink: lines written to the file.");
        Meter.CreateObservableCounter("ferry.sink.written", () => PerSinkFile(w => w.BytesWritten),
            "By", "sink: bytes written to the file.");
        Meter.CreateObservableCounter("ferry.sink.write.errors", () => PerSinkFile(w => w.WriteErrors),
            "{error}", "sink: failed writes of the file (each is retried; nothing is dropped).");
    }

    /// <summary>Makes a set of listeners visible to the instruments (the running server's; tests' own).</summary>
    public static void Observe(ListenerSet listeners) => Sets.TryAdd(listeners, 0);

    public static void Forget(ListenerSet listeners) => Sets.TryRemove(listeners, out _);

    private static IEnumerable<RunningListener> Listeners() => Sets.Keys.SelectMany(set => set.Serving);

    /// <summary>
    /// One value per listener label and service: a host name that resolves to two addresses is
    /// two sockets but one listener, so their counts are added; a listener a reload replaced
    /// shares its counts with its successor (<see cref="BoundListener.ContinueCounting"/>), so
    /// those are counted once.
    /// </summary>
    private static List<Measurement<long>> PerListener(Func<CountedListeners, long> value, Func<CountedListeners, bool>? only = null)
    {
        var sums = new Dictionary<(string Listener, string Service), long>();
        foreach (var counted in ByCounters())
        {
            if (only?.Invoke(counted) == false)
                continue;
            var key = (counted.Label, counted.Service);
            sums[key] = sums.GetValueOrDefault(key) + value(counted);
        }
        return [.. sums.Select(s => new Measurement<long>(s.Value, new TagList { { "listener", s.Key.Listener }, { "service", s.Key.Service } }))];
    }

    /// <summary>Closed connections' bytes and open ones', read together under the counts' lock, so the sum never goes back.</summary>
    private static long BytesOf(CountedListeners counted, bool received)
    {
        var counters = counted.Counters;
        lock (counters.BytesGate)
        {
            var datagrams = counted.Datagrams;
            long total = received ? counters.ClosedBytesReceived + datagrams.ReceivedBytes : counters.ClosedBytesSent + datagrams.SentBytes;
            foreach (var listener in counted.Listeners)
            {
                var open = listener.OpenBytes();
                total += received ? open.Received : open.Sent;
            }
            return total;
        }
    }

    /// <summary>The listeners that share one set of counts (a listener and the one a reload put in its place).</summary>
    private sealed record CountedListeners(ListenerCounters Counters, IReadOnlyList<RunningListener> Listeners)
    {
        public string Label => Listeners[0].Listener.Label;

        public string Service => Listeners[0].Listener.Service;

        /// <summary>Shared the same way as <see cref="Counters"/>.</summary>
        public DatagramCounters Datagrams => Listeners[0].Listener.Datagrams;
    }

    private static bool DatagramsOnly(CountedListeners counted) => counted.Listeners[0].Listener.Transport == ListenerTransport.Udp;

    /// <summary>Every reason for every udp: listener, zeros included.</summary>
    private static List<Measurement<long>> DatagramsDropped()
    {
        var sums = new Dictionary<(string Listener, DatagramDrop Reason), long>();
        foreach (var counted in ByCounters().Where(DatagramsOnly))
        {
            foreach (var reason in Enum.GetValues<DatagramDrop>())
            {
                var key = (counted.Label, reason);
                sums[key] = sums.GetValueOrDefault(key) + counted.Datagrams.Dropped(reason);
            }
        }
        return [.. sums.Select(s => new Measurement<long>(s.Value, new TagList { { "listener", s.Key.Listener }, { "reason", DatagramDropLog.Key(s.Key.Reason) } }))];
    }

    private static IEnumerable<CountedListeners> ByCounters() =>
        Listeners().GroupBy(l => (object)l.Listener.Counters, ReferenceEqualityComparer.Instance)
            .Select(g => new CountedListeners((ListenerCounters)g.Key, [.. g]));

    /// <summary>Every reason for every listener, zeros included, so a rate over any of them is defined from the start.</summary>
    private static List<Measurement<long>> Rejected()
    {
        var sums = new Dictionary<(string Listener, RefusalReason Reason), long>();
        foreach (var counted in ByCounters())
        {
            foreach (var reason in RefusalReasonText.All)
            {
                var key = (counted.Label, reason);
                sums[key] = sums.GetValueOrDefault(key) + counted.Counters.RefusedFor(reason);
            }
        }
        return [.. sums.Select(s => new Measurement<long>(s.Value, new TagList { { "listener", s.Key.Listener }, { "reason", s.Key.Reason.Key() } }))];
    }

    /// <summary>
    /// What each service instance reports, once per instance (listeners that share one report it
    /// under the first one's label). Two instances under one label (a reload's outgoing service
    /// and its successor; two --listen with one port and service but other options) are added
    /// up, except an upstream's up, which is up if either says so.
    /// </summary>
    private static List<Measurement<long>> FromServices(ServiceMetric metric)
    {
        var measurements = new List<Measurement<long>>();
        var seen = new HashSet<IListenerService>(ReferenceEqualityComparer.Instance);
        foreach (var listener in Listeners())
        {
            if (listener.Service is IServiceMetrics reporting && seen.Add(listener.Service))
            {
                var labels = new TagList { { "listener", listener.Listener.Label }, { "service", listener.Listener.Service } };
                reporting.Report(new ServiceReport(metric, labels, measurements));
            }
        }
        if (seen.Count < 2)
            return measurements;
        var merged = new Dictionary<string, Measurement<long>>(StringComparer.Ordinal);
        foreach (var measurement in measurements)
        {
            string key = string.Join('\0', measurement.Tags.ToArray().Select(t => $"{t.Key}={t.Value}"));
            merged[key] = merged.TryGetValue(key, out var earlier)
                ? new Measurement<long>(metric == ServiceMetric.UpstreamUp ? Math.Max(earlier.Value, measurement.Value) : earlier.Value + measurement.Value,
                    measurement.Tags)
                : measurement;
        }
        return [.. merged.Values];
    }

    /// <summary>A sink's counts belong to its file, which several listeners may share: labelled by the file.</summary>
    private static IEnumerable<Measurement<long>> PerSinkFile(Func<SinkWriter, long> value) =>
        SharedSinkFiles.Writers().Select(w => new Measurement<long>(value(w.Writer), new TagList { { "file", w.Path } }));
}
