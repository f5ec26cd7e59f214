using System.Globalization;
using System.Text.Json;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// "ferryd status" for a terminal: a line about the process, its listeners as <c>netstat -nltp</c>
/// lists sockets (address, service, pid) with their counts, and with <c>--connections</c> one row
/// per open connection, like Redis's CLIENT LIST; read from the JSON the daemon answered.
/// </summary>
internal static class StatusTables
{
    public static void Write(JsonElement status, int pid, TextWriter output)
    {
        var uptime = TimeSpan.FromSeconds(status.GetProperty("uptimeSeconds").GetInt64());
        string metrics = status.TryGetProperty("metrics", out var m) ? $"; metrics at {m.GetString()}" : "";
        output.WriteLine($"ferryd is running (pid {pid}, up {FormatUptime(uptime)}){metrics}");

        var listeners = new List<string[]> { new[] { "LISTENER", "ADDRESS", "SERVICE", "PID", "OPEN", "ACCEPTED", "REFUSED" } };
        foreach (var listener in status.GetProperty("listeners").EnumerateArray())
        {
            // A daemon older than this command has no label: its name, or its endpoint, stands in.
            string label = (listener.TryGetProperty("label", out var l) || listener.TryGetProperty("name", out l) ? l.GetString() : null)
                ?? listener.GetProperty("endpoint").GetString()!;
            // A udp: listener has datagrams instead of connections: they get a line of their own below.
            bool datagrams = listener.TryGetProperty("datagrams", out _);
            listeners.Add([
                label,
                listener.GetProperty("endpoint").GetString()!,
                listener.GetProperty("service").GetString()!,
                Number(pid),
                datagrams ? "-" : Number(listener.GetProperty("open").GetInt64()),
                datagrams ? "-" : Number(listener.GetProperty("accepted").GetInt64()),
                datagrams ? "-" : Refusals(listener),
            ]);
        }
        WriteTable(output, listeners, rightAligned: [3, 4, 5]);
        foreach (var listener in status.GetProperty("listeners").EnumerateArray())
        {
            if (!listener.TryGetProperty("datagrams", out var datagrams))
                continue;
            string reasons = string.Join(", ", datagrams.GetProperty("droppedBy").EnumerateObject().Select(r => $"{Number(r.Value.GetInt64())} {r.Name}"));
            output.WriteLine($"  {listener.GetProperty("label").GetString()}: {Number(datagrams.GetProperty("received").GetInt64())} datagrams received, "
                + $"{Number(datagrams.GetProperty("answered").GetInt64())} answered, {Number(datagrams.GetProperty("dropped").GetInt64())} dropped"
                + (reasons.Length > 0 ? $" ({reasons})" : ""));
        }
        foreach (var listener in status.GetProperty("listeners").EnumerateArray())
        {
            if (!listener.TryGetProperty("backplane", out var backplane))
                continue;
            // Not connected and no error yet: the first attempt is still under way (just after a start or reload).
            string state = backplane.GetProperty("connected").GetBoolean() ? "connected"
                : backplane.TryGetProperty("lastError", out var error) ? $"unreachable ({error.GetString()})" : "connecting";
            output.WriteLine($"  {listener.GetProperty("label").GetString()}: backplane {backplane.GetProperty("redis").GetString()}: {state}, "
                + $"{backplane.GetProperty("bufferedLines").GetInt64()} lines waiting, {backplane.GetProperty("droppedLines").GetInt64()} dropped, "
                + $"{backplane.GetProperty("lostLines").GetInt64()} of others lost");
        }

        if (!status.TryGetProperty("connections", out var connections))
            return;
        output.WriteLine();
        var rows = new List<string[]> { new[] { "ID", "LISTENER", "SERVICE", "PEER", "AGE", "IDLE", "IN", "OUT", "QUEUED", "DETAIL" } };
        foreach (var connection in connections.EnumerateArray())
        {
            rows.Add([
                connection.GetProperty("id").GetString()!,
                connection.GetProperty("listener").GetString()!,
                connection.GetProperty("service").GetString()!,
                connection.GetProperty("peer").GetString()!,
                Duration(connection.GetProperty("ageSeconds").GetDouble()),
                Duration(connection.GetProperty("idleSeconds").GetDouble()),
                Number(connection.GetProperty("bytesIn").GetInt64()),
                Number(connection.GetProperty("bytesOut").GetInt64()),
                Number(connection.GetProperty("queuedBytes").GetInt64()),
                Detail(connection),
            ]);
        }
        WriteTable(output, rows, rightAligned: [4, 5, 6, 7, 8]);
        output.WriteLine($"{rows.Count - 1} connection(s)");
    }

    /// <summary>"12 (10 by maxConnectionsPerIp, 2 by connectionRate)": counts by the rule that refused; the total alone if none.</summary>
    private static string Refusals(JsonElement listener)
    {
        string text = Number(listener.GetProperty("refused").GetInt64());
        if (listener.TryGetProperty("refusedBy", out var reasons) && reasons.EnumerateObject().Any())
            text += " (" + string.Join(", ", reasons.EnumerateObject().Select(r => $"{r.Value.GetInt64()} by {r.Name}")) + ")";
        return text;
    }

    /// <summary>"room lobby", "upstream 10.0.0.2:80", "pid 4242": what the service said about the connection.</summary>
    private static string Detail(JsonElement connection)
    {
        var parts = new List<string>();
        if (connection.TryGetProperty("room", out var room))
            parts.Add($"room #{room.GetString()}");
        if (connection.TryGetProperty("upstream", out var upstream))
            parts.Add($"upstream {upstream.GetString()}");
        if (connection.TryGetProperty("pid", out var child))
            parts.Add($"pid {child.GetInt32()}");
        return string.Join(", ", parts);
    }

    private static void WriteTable(TextWriter output, List<string[]> rows, int[] rightAligned)
    {
        int columns = rows[0].Length;
        var widths = Enumerable.Range(0, columns).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            var cells = row.Select((cell, c) => c == columns - 1 ? cell
                : rightAligned.Contains(c) ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]));
            output.WriteLine(string.Join("  ", cells).TrimEnd());
        }
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>"4.2s", "3m05s", "2h01m", "3d04h": short enough for a column.</summary>
    private static string Duration(double seconds)
    {
        var span = TimeSpan.FromSeconds(seconds);
        return span.TotalMinutes < 1 ? string.Create(CultureInfo.InvariantCulture, $"{seconds:0.0}s")
            : span.TotalHours < 1 ? $"{span.Minutes}m{span.Seconds:00}s"
            : span.TotalDays < 1 ? $"{(int)span.TotalHours}h{span.Minutes:00}m"
            : $"{(int)span.TotalDays}d{span.Hours:00}h";
    }

    private static string FormatUptime(TimeSpan uptime) =>
        uptime.TotalDays >= 1 ? $"{(int)uptime.TotalDays}d {uptime:hh\\:mm\\:ss}" : uptime.ToString("hh\\:mm\\:ss", CultureInfo.InvariantCulture);
}
