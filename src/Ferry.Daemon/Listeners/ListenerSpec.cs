using System.Globalization;
using System.Net;
using Ferry.Daemon.Services;
using Ferry.Protocol;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One listener as the user wrote it: <c>ENDPOINT[=SERVICE[,KEY=VALUE...]]</c>, the endpoint being
/// <c>[ADDR:]PORT</c> (TCP), <c>udp:[ADDR:]PORT</c> or <c>unix:PATH</c> (<c>unix:@NAME</c>: the
/// abstract namespace). ADDR is an IPv4 literal, a bracketed IPv6 literal or a host name; no ADDR
/// means every interface, IPv4 and IPv6. Its keys are read and checked by <see cref="ListenerSettings.From"/>.
/// </summary>
internal sealed record ListenerSpec(string? Host, int Port, string Service)
{
    public const string DefaultService = "echo";

    private static readonly IReadOnlyDictionary<string, string> NoOptions =
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The host part, or null for every interface.</summary>
    public string? Host { get; } = Host;

    /// <summary>
    /// Per-listener service options, from <c>PORT=SERVICE,key=value,...</c> on the command
    /// line; keys are case-insensitive and each service validates its own.
    /// </summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = NoOptions;

    /// <summary>The listener's name in the config file (its key under Listeners), if any.</summary>
    public string? Name { get; init; }

    public ListenerTransport Transport { get; init; } = ListenerTransport.Tcp;

    /// <summary>A Unix-domain listener's socket file, or "@NAME" in the abstract namespace; null for TCP and UDP.</summary>
    public string? Path { get; init; }

    /// <summary>Where sun_path ends: 108 bytes with its terminating NUL (an abstract name has a leading NUL instead).</summary>
    public const int MaxPathBytes = 107;

    public override string ToString() => $"{Service} {FormatAddress()}";

    /// <summary>
    /// Everything that makes two listeners the same listener for a reload: name, endpoint,
    /// service and options. A listener whose identity is unchanged keeps running.
    /// </summary>
    public string Identity => $"{Name}|{FormatAddress()}={ServiceAndOptions}";

    /// <summary>The service and every option as written, in a fixed order: "chat,maxline=80".</summary>
    public string ServiceAndOptions =>
        Service + string.Concat(Options.OrderBy(o => o.Key, StringComparer.OrdinalIgnoreCase)
            .Select(o => $",{o.Key.ToLowerInvariant()}={o.Value}"));

    public string FormatAddress() => Transport switch
    {
        ListenerTransport.Unix => "unix:" + Path,
        ListenerTransport.Udp => "udp:" + FormatHostPort(),
        _ => FormatHostPort(),
    };

    private string FormatHostPort()
    {
        if (Host is null)
            return $"*:{Port}";
        return Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
    }

    public static bool TryParse(string text, out ListenerSpec? spec, out string error)
    {
        spec = null;
        string endpoint = text;
        string service = DefaultService;
        var options = NoOptions;
        int equals = text.IndexOf('=');
        if (equals >= 0)
        {
            endpoint = text[..equals];
            string[] parts = text[(equals + 1)..].Split(',');
            service = parts[0].Trim().ToLowerInvariant();
            if (!ServiceCatalog.IsKnown(service))
            {
                error = $"unknown service '{parts[0]}' in '{text}' (known: {string.Join(", ", ServiceCatalog.Names)})";
                return false;
            }
            if (!TryParseOptions(parts.AsSpan(1), text, out options, out error))
                return false;
        }

        var transport = TransportOf(ref endpoint);
        if (transport == ListenerTransport.Unix)
        {
            if (!TryParseUnixPath(endpoint, out error))
            {
                error = $"malformed listener '{text}': {error}";
                return false;
            }
            spec = new ListenerSpec(null, 0, service) { Options = options, Transport = transport, Path = endpoint };
            return true;
        }
        if (transport == ListenerTransport.Udp && !ServiceCatalog.Find(service).Traits.ServesDatagrams)
        {
            error = $"service '{service}' does not serve udp: in '{text}' (udp serves {string.Join(", ", ServiceCatalog.DatagramNames)})";
            return false;
        }
        if (!HostPort.TryParse(endpoint, out var address, out string problem))
        {
            error = $"malformed listener '{text}': {problem}";
            return false;
        }

        spec = new ListenerSpec(address.Host, address.Port, service) { Options = options, Transport = transport };
        error = "";
        return true;
    }

    /// <summary>Takes the transport prefix off <paramref name="endpoint"/>; none means TCP.</summary>
    private static ListenerTransport TransportOf(ref string endpoint)
    {
        foreach (var (prefix, transport) in new[] { ("udp:", ListenerTransport.Udp), ("unix:", ListenerTransport.Unix), ("tcp:", ListenerTransport.Tcp) })
        {
            if (endpoint.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                endpoint = endpoint[prefix.Length..];
                return transport;
            }
        }
        return ListenerTransport.Tcp;
    }

    private static bool TryParseUnixPath(string path, out string error)
    {
        error = "";
        if (path.Length == 0 || path == "@")
            error = "unix: needs a socket file's path (unix:/run/ferry/echo.sock) or an abstract name (unix:@ferry-echo)";
        else if (path.Contains('\0'))
            error = "a socket path cannot hold a NUL byte";
        else if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
            error = $"the socket path is longer than the kernel allows ({MaxPathBytes} bytes)";
        return error.Length == 0;
    }

    private static bool TryParseOptions(ReadOnlySpan<string> pairs, string text,
        out IReadOnlyDictionary<string, string> options, out string error)
    {
        options = NoOptions;
        error = "";
        if (pairs.IsEmpty)
            return true;
        var parsed = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string pair in pairs)
        {
            int equals = pair.IndexOf('=');
            if (equals <= 0)
            {
                error = $"malformed listener '{text}': option '{pair}' is not KEY=VALUE";
                return false;
            }
            if (!parsed.TryAdd(pair[..equals].Trim(), pair[(equals + 1)..]))
            {
                error = $"malformed listener '{text}': option '{pair[..equals]}' given twice";
                return false;
            }
        }
        options = parsed;
        return true;
    }

    public static bool TryParsePort(string text, out int port) => PortNumber.TryParse(text, minimum: 0, out port);
}
