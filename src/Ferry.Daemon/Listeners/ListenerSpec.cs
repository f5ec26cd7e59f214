using System.Globalization;
using System.Net;
using Ferry.Daemon.Services;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One listener as the user wrote it: <c>[ADDR:]PORT[=SERVICE]</c>. ADDR is an IPv4 literal,
/// a bracketed IPv6 literal or a host name; no ADDR means every interface, IPv4 and IPv6.
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

    public override string ToString() => $"{Service} {FormatAddress()}";

    /// <summary>
    /// Everything that makes two listeners the same listener for a reload: name, endpoint,
    /// service and options. A listener whose identity is unchanged keeps running.
    /// </summary>
    public string Identity =>
        $"{Name}|{FormatAddress()}={Service}" + string.Concat(Options.OrderBy(o => o.Key, StringComparer.OrdinalIgnoreCase)
            .Select(o => $",{o.Key.ToLowerInvariant()}={o.Value}"));

    public string FormatAddress()
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

        string? host;
        string portText;
        if (endpoint.StartsWith('['))
        {
            int close = endpoint.IndexOf(']');
            if (close < 0 || close + 1 >= endpoint.Length || endpoint[close + 1] != ':')
            {
                error = $"malformed listener '{text}': write an IPv6 address as [ADDR]:PORT";
                return false;
            }
            host = endpoint[1..close];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                error = $"malformed listener '{text}': '{host}' is not an IPv6 address";
                return false;
            }
            portText = endpoint[(close + 2)..];
        }
        else
        {
            int colon = endpoint.LastIndexOf(':');
            if (colon >= 0 && endpoint.IndexOf(':') != colon)
            {
                error = $"malformed listener '{text}': write an IPv6 address as [ADDR]:PORT";
                return false;
            }
            host = colon >= 0 ? endpoint[..colon] : null;
            portText = colon >= 0 ? endpoint[(colon + 1)..] : endpoint;
            if (host is not null && host.Length == 0)
            {
                error = $"malformed listener '{text}': empty address before ':'";
                return false;
            }
        }

        if (!TryParsePort(portText, out int port))
        {
            error = $"malformed listener '{text}': port '{portText}' is not a number from 0 to 65535";
            return false;
        }

        if (host is "*")
            host = null;
        spec = new ListenerSpec(host, port, service) { Options = options };
        error = "";
        return true;
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

    public static bool TryParsePort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 0 and <= 65535;
}
