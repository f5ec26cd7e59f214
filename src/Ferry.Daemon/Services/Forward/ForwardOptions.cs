using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Ferry.Daemon.Listeners;
using Ferry.Protocol;

namespace Ferry.Daemon.Services.Forward;

/// <summary>How forward picks an upstream for a new client.</summary>
internal enum Balance
{
    /// <summary>Each healthy upstream in turn.</summary>
    RoundRobin,

    /// <summary>The healthy upstream with the fewest open pairs (the earliest on a tie).</summary>
    LeastConn,

    /// <summary>Always the first healthy upstream in the list: failover.</summary>
    First,
}

/// <summary>Which PROXY protocol header forward sends its upstreams, if any.</summary>
internal enum ProxyVersion
{
    Off,
    V1,
    V2,
}

/// <summary>The active health check: a TCP connect every <see cref="Interval"/>; <see cref="Rise"/> successes bring an upstream up, <see cref="Fall"/> failures take it down.</summary>
internal sealed record HealthCheck(bool Enabled, TimeSpan Interval, int Rise, int Fall);

/// <summary>
/// TLS to the upstreams: verified against the system store or <see cref="CaFile"/> (its
/// certificates read once, with the settings: <see cref="Authorities"/>), unless <see cref="Insecure"/>.
/// </summary>
internal sealed record UpstreamTls(bool Enabled, string? CaFile, bool Insecure)
{
    public X509Certificate2Collection? Authorities { get; init; }
}

/// <summary>A forward listener's options (docs/services.md, "forward").</summary>
internal sealed record ForwardOptions(
    IReadOnlyList<HostPort> To,
    IReadOnlyList<IPAddress[]> Addresses,
    Balance Balance,
    TimeSpan ConnectTimeout,
    int Retries,
    TimeSpan FinTimeout,
    int MaxConnsPerUpstream,
    ProxyVersion SendProxy,
    AddressRanges? AcceptProxyFrom,
    UpstreamTls Tls,
    HealthCheck Check)
{
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DefaultFinTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultCheckInterval = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan DefaultSessionTimeout = TimeSpan.FromSeconds(60);
    public const int DefaultMaxSessions = 10_000;

    /// <summary>udp: a client's session ends after this long without a datagram either way.</summary>
    public TimeSpan SessionTimeout { get; init; } = DefaultSessionTimeout;

    /// <summary>udp: sessions open at once at most.</summary>
    public int MaxSessions { get; init; } = DefaultMaxSessions;

    /// <summary>
    /// Plain TCP both ways: a direction that sends in bulk moves its bytes with splice(2) through
    /// a pipe of its own (two descriptors per such direction) instead of through user space. Off
    /// by default: on loopback it cost 15% less CPU per MB but moved 10% fewer MB/s (bench/RESULTS.md).
    /// </summary>
    public bool Splice { get; init; }

    /// <summary>How long a client behind a load balancer has to send its PROXY header.</summary>
    public static readonly TimeSpan ProxyHeaderTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The listener expects a PROXY header from its clients (only from <see cref="AcceptProxyFrom"/>).</summary>
    public bool AcceptsProxy => AcceptProxyFrom is not null;

    public static ForwardOptions Read(OptionReader reader)
    {
        var to = ReadUpstreams(reader);
        var addresses = to.Select(upstream => Resolve(reader, upstream)).ToList();
        var balance = reader.Choice("balance", Balance.RoundRobin,
            ("roundrobin", Balance.RoundRobin), ("leastconn", Balance.LeastConn), ("first", Balance.First));
        if (reader.Spec.Transport == ListenerTransport.Udp)
        {
            // Only what a datagram session has: connect timeouts, half-close, PROXY headers, TLS
            // and connect checks are TCP's, and are refused by name as unknown keys.
            return new ForwardOptions(to, addresses, balance, DefaultConnectTimeout, 0, DefaultFinTimeout, 0, ProxyVersion.Off, null,
                new UpstreamTls(false, null, false), new HealthCheck(false, DefaultCheckInterval, 2, 3))
            {
                SessionTimeout = reader.Seconds("sessionTimeout", DefaultSessionTimeout, allowZero: false),
                MaxSessions = (int)reader.Integer("maxSessions", DefaultMaxSessions, 1, 1_000_000),
            };
        }
        var connectTimeout = reader.Seconds("connectTimeout", DefaultConnectTimeout, allowZero: false);
        int retries = (int)reader.Integer("retries", 2, 0, 100);
        var finTimeout = reader.Seconds("finTimeout", DefaultFinTimeout, allowZero: false);
        int maxConns = (int)reader.Integer("maxConnsPerUpstream", 0, 0, 1_000_000);
        var sendProxy = reader.Choice("sendProxy", ProxyVersion.Off, ("off", ProxyVersion.Off), ("v1", ProxyVersion.V1), ("v2", ProxyVersion.V2));

        bool acceptProxy = reader.Switch("acceptProxy", false);
        var proxyFrom = reader.Ranges("proxyFrom");
        if (acceptProxy && proxyFrom is null)
            throw reader.Problem("acceptProxy=on needs proxyFrom=CIDR;... (the load balancers whose PROXY headers are trusted)");
        if (!acceptProxy && proxyFrom is not null)
            throw reader.Problem("proxyFrom= is only used with acceptProxy=on");
        // A load balancer sends the header before the TLS ClientHello, and ferryd's TLS handshake
        // runs before the service: the header would be read as TLS. Not supported (yet).
        if (acceptProxy && reader.Spec.Options.ContainsKey("cert"))
            throw reader.Problem("acceptProxy=on cannot be combined with TLS on the listener (cert=): the PROXY header comes before the TLS handshake");

        bool tls = reader.Switch("upstreamTls", false);
        string? ca = reader.Text("upstreamCa");
        bool insecure = reader.Switch("upstreamInsecure", false);
        if (!tls && (ca is not null || insecure))
            throw reader.Problem("upstreamCa= and upstreamInsecure= are only used with upstreamTls=on");
        X509Certificate2Collection? authorities = null;
        if (ca is not null)
        {
            try
            {
                authorities = Ferry.Platform.Tls.TlsCertificateFiles.LoadAuthorities(ca);
            }
            catch (Ferry.Platform.Tls.TlsFileException ex)
            {
                throw reader.Bad("upstreamCa", ca, ex.Message);
            }
        }

        bool check = reader.Switch("check", false);
        var interval = reader.Seconds("checkInterval", DefaultCheckInterval, allowZero: false);
        int rise = (int)reader.Integer("rise", 2, 1, 100);
        int fall = (int)reader.Integer("fall", 3, 1, 100);

        bool splice = reader.Switch("splice", false);

        return new ForwardOptions(to, addresses, balance, connectTimeout, retries, finTimeout, maxConns, sendProxy,
            acceptProxy ? proxyFrom : null, new UpstreamTls(tls, ca is null ? null : Path.GetFullPath(ca), insecure) { Authorities = authorities },
            new HealthCheck(check, interval, rise, fall)) { Splice = splice };
    }

    /// <summary><c>to=HOST:PORT;HOST:PORT...</c> (a JSON array arrives joined by ';'): every entry needs a host and a port.</summary>
    private static List<HostPort> ReadUpstreams(OptionReader reader)
    {
        string? text = reader.Text("to");
        if (string.IsNullOrWhiteSpace(text))
            throw reader.Problem("forward needs to=HOST:PORT[;HOST:PORT...]");
        var upstreams = new List<HostPort>();
        foreach (string entry in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!HostPort.TryParse(entry, out HostPort? upstream, out string error))
                throw reader.Bad("to", entry, error);
            if (upstream.Host is null || upstream.Port == 0)
                throw reader.Bad("to", entry, "an upstream needs HOST:PORT with a port from 1");
            upstreams.Add(upstream);
        }
        if (upstreams.Count == 0)
            throw reader.Problem("forward needs to=HOST:PORT[;HOST:PORT...]");
        return upstreams;
    }

    /// <summary>An upstream's addresses: its literal, or its name resolved now (at start and on reload), so a typo stops ferryd instead of every client.</summary>
    private static IPAddress[] Resolve(OptionReader reader, HostPort upstream)
    {
        if (IPAddress.TryParse(upstream.Host, out IPAddress? literal))
            return [literal];
        try
        {
            var addresses = Dns.GetHostAddresses(upstream.Host!)
                .Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6).ToArray();
            if (addresses.Length > 0)
                return addresses;
            throw reader.Bad("to", upstream.ToString(), $"{upstream.Host} has no IPv4 or IPv6 address");
        }
        catch (SocketException ex)
        {
            throw reader.Bad("to", upstream.ToString(), $"cannot resolve {upstream.Host}: {Ferry.Platform.Net.SocketErrorText.Describe(ex)}");
        }
    }
}
