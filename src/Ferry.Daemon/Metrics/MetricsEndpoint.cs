using System.Net;
using System.Net.Sockets;
using System.Text;
using Ferry.Daemon.Listeners;
using Ferry.Protocol;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Metrics;

/// <summary>
/// <c>--metrics [ADDR:]PORT</c>: an HTTP/1.1 endpoint that answers <c>GET /metrics</c> with
/// <see cref="PrometheusExport"/>'s text, as node_exporter and HAProxy's exporter do. It speaks
/// only what a scraper needs (GET and HEAD, one request per connection, Connection: close),
/// answers everything else with a status line (404, 405, 400, 431), reads a request head of at
/// most 8 KiB within 10 s, and serves a few scrapers at once; it runs apart from the listeners'
/// epoll loops, on the thread pool, so a scrape never holds up a connection.
/// </summary>
internal sealed partial class MetricsEndpoint : IAsyncDisposable
{
    public const string Path = "/metrics";

    private const int MaxHeadBytes = 8192;
    private const int MaxScrapers = 4;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket[] _sockets;
    private readonly PrometheusExport _export;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Logging.RepeatWindow _failures = new(TimeProvider.System, TimeSpan.FromMinutes(1));
    private readonly Task _serving;

    private readonly SemaphoreSlim _slots = new(MaxScrapers);

    private MetricsEndpoint(Socket[] sockets, PrometheusExport export, ILogger logger)
    {
        _sockets = sockets;
        _export = export;
        _logger = logger;
        EndPoint = (IPEndPoint)sockets[0].LocalEndPoint!;
        _serving = Task.WhenAll(sockets.Select(ServeAsync));
    }

    /// <summary>The first address it listens on (a host name may give it more, like a listener's).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>
    /// Binds every address the host resolves to, on one port (exit 4 when it cannot: busy port,
    /// unknown host, no permission), and starts answering.
    /// </summary>
    public static async Task<MetricsEndpoint> StartAsync(MetricsAddress address, PrometheusExport export, ILogger logger)
    {
        var sockets = await ListenerBinder.BindAsync(new ListenerSpec(address.Host, address.Port, "metrics"), CancellationToken.None);
        return new MetricsEndpoint(sockets, export, logger);
    }

    private Task ServeAsync(Socket listening) => Hosting.BoundedAcceptLoop.RunAsync(listening, _slots, AnswerAsync, _stop.Token);

    private async Task AnswerAsync(Socket client)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(RequestTimeout);
            var (refusal, head) = await ReadHeadAsync(client, timeout.Token);
            bool headOnly = false;
            int status = refusal ?? Route(head!, out headOnly);
            try
            {
                await RespondAsync(client, status, headOnly, timeout.Token);
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or SocketException or IOException))
            {
                // A metric that cannot be read must cost the scrape, never the daemon.
                if (_failures.ShouldLog(out long more))
                    CollectionFailed(_logger, ex.GetBaseException().Message, more == 0 ? "" : $" ({more} more since the last such line)");
                await RespondAsync(client, 500, headOnly: false, timeout.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException)
        {
        }
    }

    /// <summary>The request's head, or the status that refuses it (400 for none at all, 431 for too long).</summary>
    private static async Task<(int? Status, string? Head)> ReadHeadAsync(Socket client, CancellationToken cancellation)
    {
        var buffer = new byte[MaxHeadBytes];
        int length = 0;
        while (true)
        {
            int read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellation);
            if (read == 0)
                return (400, null);
            length += read;
            int end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            if (end < 0)
                end = buffer.AsSpan(0, length).IndexOf("\n\n"u8);
            if (end >= 0)
                return (null, Encoding.Latin1.GetString(buffer, 0, end));
            if (length == buffer.Length)
                return (431, null);
        }
    }

    /// <summary>The status to answer with: 200 (the metrics; <paramref name="headOnly"/> for HEAD), 400, 404 or 405.</summary>
    private static int Route(string head, out bool headOnly)
    {
        headOnly = false;
        string requestLine = head.Split('\n')[0].TrimEnd('\r');
        string[] parts = requestLine.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
            return 400;
        string target = parts[1];
        int query = target.IndexOf('?');
        if (query >= 0)
            target = target[..query];
        if (target != Path)
            return 404;
        headOnly = parts[0] == "HEAD";
        return parts[0] is "GET" or "HEAD" ? 200 : 405;
    }

    private async Task RespondAsync(Socket client, int answer, bool headOnly, CancellationToken cancellation)
    {
        byte[] body;
        string status, type = "text/plain; charset=utf-8";
        string extra = "";
        switch (answer)
        {
            case 200:
                using (var text = new MemoryStream())
                {
                    await _export.WriteAsync(text, cancellation);
                    body = text.ToArray();
                }
                status = "200 OK";
                type = "text/plain; version=0.0.4; charset=utf-8";
                break;
            case 500:
                status = "500 Internal Server Error";
                body = "ferryd could not collect its metrics; its log says why\n"u8.ToArray();
                break;
            case 404:
                status = "404 Not Found";
                body = Encoding.ASCII.GetBytes($"ferryd serves its metrics at {Path}\n");
                break;
            case 405:
                status = "405 Method Not Allowed";
                extra = "Allow: GET, HEAD\r\n";
                body = "only GET and HEAD\n"u8.ToArray();
                break;
            case 431:
                status = "431 Request Header Fields Too Large";
                body = Encoding.ASCII.GetBytes($"a request head is at most {MaxHeadBytes} bytes here\n");
                break;
            default:
                status = "400 Bad Request";
                body = "not an HTTP/1.x request\n"u8.ToArray();
                break;
        }
        string head = $"HTTP/1.1 {status}\r\nContent-Type: {type}\r\nContent-Length: {body.Length}\r\n{extra}Connection: close\r\n\r\n";
        await client.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, cancellation);
        if (!headOnly)
            await client.SendAsync(body, SocketFlags.None, cancellation);
        client.Shutdown(SocketShutdown.Send);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var socket in _sockets)
            socket.Dispose();
        await _serving;
        _stop.Dispose();
        _slots.Dispose();
    }

    [LoggerMessage(EventId = 91, Level = LogLevel.Warning, Message = "metrics: a scrape failed, answered 500: {Reason}{Repeats}")]
    private static partial void CollectionFailed(ILogger logger, string reason, string repeats);

}

/// <summary>Where <c>--metrics</c> listens: [ADDR:]PORT, loopback (127.0.0.1) when no ADDR; <c>*:PORT</c> for every interface.</summary>
internal sealed record MetricsAddress(string? Host, int Port)
{
    public const string Rule = "give [ADDR:]PORT (loopback when ADDR is left out, *:PORT for every interface) or off";

    /// <summary>Null with no error for "off" or nothing; null with an error for a malformed value.</summary>
    public static MetricsAddress? Parse(string? text, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(text) || text.Trim().Equals("off", StringComparison.OrdinalIgnoreCase))
            return null;
        text = text.Trim();
        bool everyInterface = text.StartsWith("*:", StringComparison.Ordinal);
        if (!HostPort.TryParse(everyInterface ? text[2..] : text, out var address, out string problem))
        {
            error = problem;
            return null;
        }
        if (address.Host is null && !everyInterface && text.Contains(':', StringComparison.Ordinal))
        {
            error = $"invalid address '{text}'";
            return null;
        }
        return new MetricsAddress(everyInterface ? null : address.Host ?? "127.0.0.1", address.Port);
    }
}
