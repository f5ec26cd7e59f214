using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Listeners;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// The JSON that <c>ferryd status --json</c> prints: the process, each listener with its counts,
/// the last reload, the metrics endpoint; and with <c>--connections</c> one object per open
/// connection, like Redis's CLIENT LIST (docs/observability.md lists every field).
/// </summary>
internal static class StatusDocument
{
    public static byte[] Render(StatusSources sources, bool withConnections)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteBoolean("running", true);
            json.WriteNumber("pid", Environment.ProcessId);
            json.WriteString("started", sources.Started);
            json.WriteNumber("uptimeSeconds", (long)(DateTimeOffset.UtcNow - sources.Started).TotalSeconds);
            if (sources.MetricsEndpoint() is { } metrics)
                json.WriteString("metrics", $"http://{Ferry.Platform.Net.EndpointText.Format(metrics)}/metrics");
            json.WriteStartArray("listeners");
            foreach (var listener in sources.Accepting())
                WriteListener(json, listener.Listener, listener.Service);
            json.WriteEndArray();
            if (withConnections)
            {
                json.WriteStartArray("connections");
                long now = Stopwatch.GetTimestamp();
                foreach (var listener in sources.Serving())
                {
                    foreach (var connection in listener.Open.OrderBy(c => c.AcceptedAt))
                        WriteConnection(json, listener.Listener, connection, now);
                }
                json.WriteEndArray();
            }
            if (sources.LastReload() is { } reload)
            {
                json.WriteStartObject("reload");
                json.WriteNumber("generation", reload.Generation);
                json.WriteBoolean("succeeded", reload.Succeeded);
                json.WriteString("message", reload.Message);
                json.WriteString("at", reload.At);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteDatagrams(Utf8JsonWriter json, DatagramCounters datagrams)
    {
        json.WriteStartObject("datagrams");
        json.WriteNumber("received", datagrams.Received);
        json.WriteNumber("answered", datagrams.Answered);
        json.WriteNumber("dropped", datagrams.DroppedTotal);
        json.WriteStartObject("droppedBy");
        foreach (var reason in Enum.GetValues<DatagramDrop>())
        {
            if (datagrams.Dropped(reason) is > 0 and long count)
                json.WriteNumber(DatagramDropLog.Key(reason), count);
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteListener(Utf8JsonWriter json, BoundListener listener, Services.IListenerService service)
    {
        json.WriteStartObject();
        if (listener.Spec.Name is not null)
            json.WriteString("name", listener.Spec.Name);
        json.WriteString("label", listener.Label);
        json.WriteString("service", listener.Service);
        json.WriteString("endpoint", listener.Address);
        if (listener.Transport == ListenerTransport.Udp)
        {
            WriteDatagrams(json, listener.Datagrams);
            json.WriteEndObject();
            return;
        }
        json.WriteNumber("open", listener.Counters.Active);
        json.WriteNumber("accepted", listener.Counters.Accepted);
        json.WriteNumber("refused", listener.Counters.RefusedTotal);
        json.WriteStartObject("refusedBy");
        foreach (var reason in RefusalReasonText.All)
        {
            if (listener.Counters.RefusedFor(reason) is > 0 and long count)
                json.WriteNumber(reason.Key(), count);
        }
        json.WriteEndObject();
        if (service is Services.Backplane.IHasBackplane { Backplane: { } backplane })
        {
            json.WriteStartObject("backplane");
            json.WriteString("redis", backplane.Redis);
            json.WriteBoolean("connected", backplane.Connected);
            if (backplane.LastError is not null)
                json.WriteString("lastError", backplane.LastError);
            json.WriteNumber("bufferedLines", backplane.BufferedLines);
            json.WriteNumber("droppedLines", backplane.DroppedLines);
            json.WriteNumber("lostLines", backplane.LostLines);
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    private static void WriteConnection(Utf8JsonWriter json, BoundListener listener, TrackedConnection connection, long now)
    {
        var context = connection.Context;
        var description = connection.Serving?.Description;
        json.WriteStartObject();
        json.WriteString("id", context.ConnectionId);
        json.WriteString("listener", listener.Label);
        json.WriteString("service", listener.Service);
        json.WriteString("peer", connection.Peer);
        json.WriteNumber("ageSeconds", Seconds(connection.AcceptedAt, now));
        json.WriteNumber("idleSeconds", Seconds(connection.LastActivity, now));
        json.WriteNumber("bytesIn", connection.Traffic.BytesReceived);
        json.WriteNumber("bytesOut", connection.Traffic.BytesSent);
        long queued = (description?.QueuedBytes ?? 0) + (context.IsClosed ? 0 : SocketCalls.UnsentBytes(context.Handle));
        json.WriteNumber("queuedBytes", queued);
        if (description?.Room is { } room)
            json.WriteString("room", room);
        if (description?.Upstream is { } upstream)
            json.WriteString("upstream", upstream);
        if (description?.ChildPid is { } pid)
            json.WriteNumber("pid", pid);
        json.WriteEndObject();
    }

    private static double Seconds(long since, long now) =>
        Math.Round(Math.Max(0, Stopwatch.GetElapsedTime(since, now).TotalSeconds), 1);
}

/// <summary>
/// Where the status document's parts come from, read fresh for each request. Accepting: the
/// listeners; Serving: also those a reload retired, whose connections are still open.
/// </summary>
internal sealed record StatusSources(
    DateTimeOffset Started,
    Func<IReadOnlyList<RunningListener>> Accepting,
    Func<IReadOnlyList<RunningListener>> Serving,
    Func<ReloadOutcome?> LastReload,
    Func<IPEndPoint?> MetricsEndpoint);
