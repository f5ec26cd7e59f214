using System.Net;
using Ferry.Daemon.Services;
using Ferry.Daemon.Tls;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// A listener's limits and security settings, read from its listener-level keys (everything
/// else written for the listener is its service's). The one place these keys are read;
/// docs/security.md describes each and the threat it answers.
/// </summary>
internal sealed record ListenerPolicy
{
    public const int DefaultMaxConnections = 10_000;
    public const int DefaultMaxConnectionsPerIp = 256;
    public const double DefaultConnectionRate = 100;
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(300);
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Listener-level keys whose values are file names, made absolute where they were written.</summary>
    public static readonly IReadOnlySet<string> PathKeys = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "cert", "key", "clientCa" };

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

    /// <summary>True when <see cref="Allow"/> is the loopback-only default of a service that must not face the network unasked (chargen, exec).</summary>
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

    /// <summary>A <c>unix:</c> listener's socket file and peer rules; null on TCP and UDP.</summary>
    public UnixSocketPolicy? Unix { get; init; }

    /// <summary>A <c>udp:</c> listener's rate and amplification rules; null on stream listeners.</summary>
    public DatagramPolicy? Datagrams { get; init; }

    /// <summary>Keys that mean something on some transports only, with what to say when written on another.</summary>
    private static readonly (string[] Keys, ListenerTransport[] On, string Instead)[] TransportKeys =
    [
        (["maxConnections", "maxConnectionsPerIp", "connectionRate", "connectionBurst", "idleTimeout", "firstByteTimeout",
            "handshakeTimeout", "tls", "cert", "key", "clientCa"], [ListenerTransport.Tcp, ListenerTransport.Unix],
            "a udp: listener has no connections; it takes rate=, burst=, amplify=, allow=, deny=, exempt="),
        (["allow", "deny", "exempt"], [ListenerTransport.Tcp, ListenerTransport.Udp],
            "a unix: listener's peers have no address; restrict them with mode=, owner=, group=, allowUid=, allowGid="),
        (["mode", "owner", "group", "socketGroup", "allowUid", "allowGid"], [ListenerTransport.Unix], "it applies to unix: listeners only"),
        (["rate", "burst", "amplify"], [ListenerTransport.Udp], "it applies to udp: listeners only (TCP has connectionRate=)"),
    ];

    /// <summary>Reads the listener-level keys; throws <see cref="ServiceOptionException"/> naming the key.</summary>
    public static ListenerPolicy From(OptionReader reader, ServiceTraits traits)
    {
        var transport = reader.Spec.Transport;
        foreach (var (keys, on, instead) in TransportKeys)
        {
            if (on.Contains(transport))
                continue;
            foreach (string key in keys.Where(k => !traits.OwnKeys.Contains(k)))
            {
                if (reader.Text(key) is { } value)
                    throw reader.Bad(key, value, $"not for a {transport.ToString().ToLowerInvariant()} listener: {instead}");
            }
        }
        return transport switch
        {
            ListenerTransport.Udp => ForDatagrams(reader, traits),
            ListenerTransport.Unix => ForStreams(reader, traits) with { Unix = UnixSocketPolicy.From(reader, traits), Allow = null, AllowIsLoopbackDefault = false },
            _ => ForStreams(reader, traits),
        };
    }

    private static ListenerPolicy ForStreams(OptionReader reader, ServiceTraits traits)
    {
        double rate = reader.Number("connectionRate", DefaultConnectionRate, minimum: 0, maximum: 1_000_000);
        var allow = reader.Ranges("allow");
        bool loopbackDefault = allow is null && traits.LoopbackByDefault;
        return new ListenerPolicy
        {
            MaxConnections = (int)reader.Integer("maxConnections", DefaultMaxConnections, 0, int.MaxValue),
            MaxConnectionsPerIp = (int)reader.Integer("maxConnectionsPerIp", DefaultMaxConnectionsPerIp, 0, int.MaxValue),
            ConnectionRate = rate,
            ConnectionBurst = (int)reader.Integer("connectionBurst", (long)Math.Max(1, Math.Ceiling(2 * rate)), 1, int.MaxValue),
            IdleTimeout = reader.Seconds("idleTimeout", DefaultIdleTimeout, allowZero: true),
            FirstByteTimeout = reader.Seconds("firstByteTimeout", traits.FirstByteTimeout, allowZero: true),
            HandshakeTimeout = reader.Seconds("handshakeTimeout", DefaultHandshakeTimeout, allowZero: false),
            Allow = loopbackDefault ? AddressRanges.Loopback : allow,
            AllowIsLoopbackDefault = loopbackDefault,
            Deny = reader.Ranges("deny") ?? AddressRanges.None,
            Exempt = reader.Ranges("exempt") ?? AddressRanges.Loopback,
            TellsRefusals = traits.LineOriented,
            Tls = ReadTls(reader),
        };
    }

    /// <summary>
    /// Every UDP service is loopback only unless allow= says otherwise (a forged source makes any
    /// reply a weapon), and one that answers more than it is sent is refused beyond loopback
    /// without amplify=on.
    /// </summary>
    private static ListenerPolicy ForDatagrams(OptionReader reader, ServiceTraits traits)
    {
        var allow = reader.Ranges("allow");
        var datagrams = DatagramPolicy.From(reader);
        if (traits.AmplifiesDatagrams && !datagrams.Amplify && allow is not null && !allow.IsLoopbackOnly)
        {
            throw reader.Bad("allow", reader.Text("allow")!,
                $"{reader.Spec.Service} over udp answers more than it is sent, a reflection and amplification tool (CVE-1999-0103): " +
                "beyond loopback it needs amplify=on");
        }
        return new ListenerPolicy
        {
            MaxConnections = 0,
            MaxConnectionsPerIp = 0,
            ConnectionRate = 0,
            IdleTimeout = TimeSpan.Zero,
            Allow = allow ?? AddressRanges.Loopback,
            AllowIsLoopbackDefault = allow is null,
            Deny = reader.Ranges("deny") ?? AddressRanges.None,
            Exempt = reader.Ranges("exempt") ?? AddressRanges.Loopback,
            Datagrams = datagrams,
        };
    }

    private static ListenerTls? ReadTls(OptionReader reader)
    {
        string? cert = NullIfEmpty(reader.Text("cert"));
        bool on = reader.Switch("tls", fallback: cert is not null);
        string? key = NullIfEmpty(reader.Text("key"));
        string? clientCa = NullIfEmpty(reader.Text("clientCa"));
        if (!on)
        {
            foreach (string tlsKey in new[] { "cert", "key", "clientCa", "handshakeTimeout" })
            {
                if (reader.Text(tlsKey) is { } value)
                    throw reader.Problem($"{tlsKey}={value} needs TLS, but tls=off");
            }
            return null;
        }
        if (cert is null)
            throw reader.Problem("tls=on needs cert=FILE (PEM certificate, and key=FILE unless the key is in it)");
        try
        {
            return ListenerTls.Load(new TlsFiles(cert, key, clientCa));
        }
        catch (ServiceOptionException ex)
        {
            throw reader.Problem(ex.Message);
        }
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
