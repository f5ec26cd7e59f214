namespace Ferry.Daemon.Services;

/// <summary>
/// What ferryd needs to know about a service besides its protocol, declared with the service
/// in <see cref="ServiceCatalog"/> so nothing elsewhere tests a service's name.
/// </summary>
internal sealed record ServiceTraits
{
    /// <summary>
    /// The service never blocks a thread (no file I/O, no waits) and does little work per read.
    /// The transport then runs it on the thread that received the data, which saves a thread hop
    /// per message; a service that could block must say false, or every connection sharing that
    /// socket thread would stall with it.
    /// </summary>
    public bool NeverBlocks { get; init; }

    /// <summary>Options with which a service that otherwise never blocks does CPU work per read (forward with upstreamTls).</summary>
    public Func<object?, bool>? BusyWith { get; init; }

    /// <summary>May the transport run the service on the thread that received the data, with these options.</summary>
    public bool ServesOnLoop(object? options) => NeverBlocks && BusyWith?.Invoke(options) != true;

    /// <summary>Its clients read "! " lines, so a refused client can be told why without corrupting a byte stream.</summary>
    public bool LineOriented { get; init; }

    /// <summary>
    /// Loopback peers only unless allow= says otherwise: it answers far more than it is sent
    /// (chargen), or it runs a program for whoever connects (exec).
    /// </summary>
    public bool LoopbackByDefault { get; init; }

    /// <summary>It also answers datagrams (<see cref="IDatagramService"/>), so it may run on a <c>udp:</c> listener.</summary>
    public bool ServesDatagrams { get; init; }

    /// <summary>
    /// Over UDP its reply may be larger than the request (daytime, chargen): a reflection and
    /// amplification tool against a forged source unless kept to loopback; see docs/security.md.
    /// </summary>
    public bool AmplifiesDatagrams { get; init; }

    /// <summary>
    /// Keys the service reads itself that a listener-level key shares the name of: the service's
    /// meaning wins (exec's group=, the program's group; its unix: socket's is then socketGroup=).
    /// </summary>
    public IReadOnlySet<string> OwnKeys { get; init; } = new HashSet<string>();

    /// <summary>The listener's firstByteTimeout unless set; zero: none.</summary>
    public TimeSpan FirstByteTimeout { get; init; }
}
