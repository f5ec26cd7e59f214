namespace Ferry.Daemon.Listeners;

/// <summary>
/// A <c>udp:</c> listener's guards against being used as a weapon (docs/security.md): a token
/// bucket per source (<c>rate=</c> datagrams a second, <c>burst=</c>), and <c>amplify=</c>, without
/// which no reply is larger than its request. The loopback-only default and the dropped source
/// ports live in <see cref="ListenerPolicy"/> and <see cref="DatagramScreen"/>.
/// </summary>
internal sealed record DatagramPolicy
{
    public const double DefaultRate = 100;

    /// <summary>Datagrams a second from one source, on average; 0: no limit.</summary>
    public double Rate { get; init; } = DefaultRate;

    /// <summary>Datagrams one source may send at once before the rate applies.</summary>
    public int Burst { get; init; } = (int)(2 * DefaultRate);

    /// <summary>May a reply be larger than its request (daytime, chargen)?</summary>
    public bool Amplify { get; init; }

    public static DatagramPolicy From(OptionReader reader)
    {
        double rate = reader.Number("rate", DefaultRate, minimum: 0, maximum: 10_000_000);
        return new DatagramPolicy
        {
            Rate = rate,
            Burst = (int)reader.Integer("burst", (long)Math.Max(1, Math.Ceiling(2 * rate)), 1, int.MaxValue),
            Amplify = reader.Switch("amplify", fallback: false),
        };
    }
}
