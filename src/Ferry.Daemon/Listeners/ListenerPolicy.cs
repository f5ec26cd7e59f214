using System.Globalization;
using System.Net;
using Ferry.Daemon.Services;
using Ferry.Daemon.Tls;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// A listener's limits and security settings, parsed from its listener-level keys (the
/// ones in <see cref="Keys"/>; everything else is the service's). The one place these keys
/// are read; docs/security.md describes each and the threat it answers.
/// </summary>
internal sealed record ListenerPolicy
{
    public const int DefaultMaxConnections = 10_000;
    public const int DefaultMaxConnectionsPerIp = 256;
    public const double DefaultConnectionRate = 100;
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(300);
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Listener-level keys; <see cref="ServiceContext.AllowOnly"/> leaves them to us.</summary>
    public static readonly IReadOnlySet<string> Keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "maxConnections", "maxConnectionsPerIp", "connectionRate", "connectionBurst", "idleTimeout", "firstByteTimeout",
        "handshakeTimeout", "allow", "deny", "exempt", "tls", "cert", "key", "clientCa",
    };

    /// <summary>Keys whose values are file names, made absolute where they were written.</summary>
    public static readonly IReadOnlySet<string> PathKeys = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "cert", "key", "clientCa" };

    public static bool IsListenerKey(string key) => Keys.Contains(key);

    /// <summary>Open connections on this listening socket; 0: no limit.</summary>
    public int MaxConnections { get; init; } = DefaultMaxConnections;

    /// <summary>Open connections from one source (IPv4 address or IPv6 /64); 0: no limit.</summary>
    public int MaxConnectionsPerIp { get; init; } = DefaultMaxConnectionsPerIp;

    /// <summary>New connections per second from one source, on average; 0: no limit.</summary>
    public double ConnectionRate { get; init; } = DefaultConnectionRate;

    /// <summary>New connections one source may open at once before the rate applies.</summary>
    public int ConnectionBurst { get; init; } = (int)(2 * DefaultConnectionRate);

    /// <summary>No byte either way for this long closes the connection; zero: never.</summary>
    public TimeSpan IdleTimeout { get; init; } = DefaultIdleTimeout;

    /// <summary>No byte from the client this long after it connected (or finished its TLS handshake); zero: never.</summary>
    public TimeSpan FirstByteTimeout { get; init; }

    public TimeSpan HandshakeTimeout { get; init; } = DefaultHandshakeTimeout;

    /// <summary>Null: everyone not denied may connect.</summary>
    public AddressRanges? Allow { get; init; }

    /// <summary>True when <see cref="Allow"/> is the loopback-only default of an amplifier service.</summary>
    public bool AllowIsLoopbackDefault { get; init; }

    public AddressRanges Deny { get; init; } = AddressRanges.None;

    /// <summary>Sources the per-source limits (count and rate) do not apply to.</summary>
    public AddressRanges Exempt { get; init; } = AddressRanges.Loopback;

    /// <summary>Whether a refused client is sent a one-line reason before the close.</summary>
    public bool TellsRefusals { get; init; }

    /// <summary>Null: plain TCP.</summary>
    public ListenerTls? Tls { get; init; }

    /// <summary>Is this peer let in by allow/deny? Deny wins; with an allow list, only its ranges.</summary>
    public bool Admits(IPAddress peer) => !Deny.Contains(peer) && (Allow is null || Allow.Contains(peer));

    /// <summary>Parses the listener-level keys of <paramref name="spec"/>; throws <see cref="ServiceOptionException"/>.</summary>
    public static ListenerPolicy From(ListenerSpec spec)
    {
        var traits = ServiceCatalog.Find(spec.Service).Traits;
        var reader = new OptionReader(spec);
        double rate = reader.Number("connectionRate", DefaultConnectionRate, minimum: 0, maximum: 1_000_000);
        var allow = reader.Ranges("allow");
        bool loopbackDefault = allow is null && traits.Amplifier;
        var policy = new ListenerPolicy
        {
            MaxConnections = (int)reader.Number("maxConnections", DefaultMaxConnections, 0, int.MaxValue, whole: true),
            MaxConnectionsPerIp = (int)reader.Number("maxConnectionsPerIp", DefaultMaxConnectionsPerIp, 0, int.MaxValue, whole: true),
            ConnectionRate = rate,
            ConnectionBurst = (int)reader.Number("connectionBurst", Math.Max(1, Math.Ceiling(2 * rate)), 1, int.MaxValue, whole: true),
            IdleTimeout = reader.Seconds("idleTimeout", DefaultIdleTimeout, allowZero: true),
            FirstByteTimeout = reader.Seconds("firstByteTimeout", traits.FirstByteTimeout, allowZero: true),
            HandshakeTimeout = reader.Seconds("handshakeTimeout", DefaultHandshakeTimeout, allowZero: false),
            Allow = loopbackDefault ? AddressRanges.Loopback : allow,
            AllowIsLoopbackDefault = loopbackDefault,
            Deny = reader.Ranges("deny") ?? AddressRanges.None,
            Exempt = reader.Ranges("exempt") ?? AddressRanges.Loopback,
            TellsRefusals = traits.LineOriented,
            Tls = reader.Tls(),
        };
        return policy;
    }

    /// <summary>Reads one spec's listener keys, naming the listener and key in every error.</summary>
    private sealed class OptionReader(ListenerSpec spec)
    {
        private string? Text(string key) => spec.Options.TryGetValue(key, out string? value) ? value.Trim() : null;

        private ServiceOptionException Bad(string key, string value, string rule) =>
            new($"listener {spec}: {key}={value}: {rule}");

        public double Number(string key, double fallback, double minimum, double maximum, bool whole = false)
        {
            string? text = Text(key);
            if (text is null)
                return fallback;
            bool valid = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
                && double.IsFinite(value) && value >= minimum && value <= maximum && (!whole || value == Math.Floor(value));
            if (!valid)
                throw Bad(key, text, whole ? $"not a whole number from {minimum} to {maximum}" : $"not a number from {minimum} to {maximum}");
            return value;
        }

        public TimeSpan Seconds(string key, TimeSpan fallback, bool allowZero)
        {
            string? text = Text(key);
            if (text is null)
                return fallback;
            bool valid = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
                && double.IsFinite(seconds) && seconds <= 86_400 && (allowZero ? seconds >= 0 : seconds > 0);
            if (!valid)
                throw Bad(key, text, allowZero ? "not a number of seconds from 0 (off) to 86400" : "not a number of seconds above 0, at most 86400");
            return TimeSpan.FromSeconds(seconds);
        }

        public AddressRanges? Ranges(string key)
        {
            string? text = Text(key);
            if (text is null)
                return null;
            if (!AddressRanges.TryParse(text, out var ranges, out string error))
                throw Bad(key, text, error);
            return ranges;
        }

        public ListenerTls? Tls()
        {
            string? mode = Text("tls");
            string? cert = Text("cert");
            bool on = mode?.ToLowerInvariant() switch
            {
                null => cert is not null,
                "on" or "true" or "yes" or "1" => true,
                "off" or "false" or "no" or "0" => false,
                _ => throw Bad("tls", mode, "use on or off"),
            };
            if (!on)
            {
                foreach (string key in new[] { "cert", "key", "clientCa", "handshakeTimeout" })
                {
                    if (Text(key) is { } value)
                        throw new ServiceOptionException($"listener {spec}: {key}={value} needs TLS, but tls=off");
                }
                return null;
            }
            if (string.IsNullOrEmpty(cert))
                throw new ServiceOptionException($"listener {spec}: tls=on needs cert=FILE (PEM certificate, and key=FILE unless the key is in it)");
            try
            {
                return ListenerTls.Load(new TlsFiles(cert, NullIfEmpty(Text("key")), NullIfEmpty(Text("clientCa"))));
            }
            catch (ServiceOptionException ex)
            {
                throw new ServiceOptionException($"listener {spec}: {ex.Message}");
            }
        }

        private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
    }
}
