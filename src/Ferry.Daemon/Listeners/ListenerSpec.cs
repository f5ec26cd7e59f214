using System.Globalization;
using System.Net;
using Ferry.Daemon.Services;
using Ferry.Protocol;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// One listener as the user wrote it: <c>[ADDR:]PORT[=SERVICE[,KEY=VALUE...]]</c>. ADDR is an IPv4
/// literal, a bracketed IPv6 literal or a host name; no ADDR means every interface, IPv4 and IPv6.
/// Its keys are read and checked by <see cref="ListenerSettings.From"/>.
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
    public string Identity => $"{Name}|{FormatAddress()}={ServiceAndOptions}";

    /// <summary>The service and every option as written, in a fixed order: "chat,maxline=80".</summary>
    public string ServiceAndOptions =>
        Service + string.Concat(Options.OrderBy(o => o.Key, StringComparer.OrdinalIgnoreCase)
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

        if (!HostPort.TryParse(endpoint, out var address, out string problem))
        {
            error = $"malformed listener '{text}': {problem}";
            return false;
        }

        spec = new ListenerSpec(address.Host, address.Port, service) { Options = options };
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

    public static bool TryParsePort(string text, out int port) => PortNumber.TryParse(text, minimum: 0, out port);
}
