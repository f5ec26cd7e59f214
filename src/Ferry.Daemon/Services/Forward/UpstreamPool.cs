using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services.Forward;

/// <summary>
/// A forward listener's upstreams and how one is chosen for a client (<see cref="Balance"/>):
/// only available ones (<see cref="Upstream.IsAvailable"/>: healthy or due for a retry, and
/// under <c>maxConnsPerUpstream</c>), and none a client has already tried. Each up/down change
/// is one Warning line naming the upstream and the cause.
/// </summary>
internal sealed partial class UpstreamPool
{
    private readonly Upstream[] _upstreams;
    private readonly Balance _balance;
    private readonly int _maxOpen;
    private readonly string _listener;
    private readonly ILogger _logger;
    private int _turn = -1;

    public UpstreamPool(ForwardOptions options, string listener, TimeProvider time, ILogger logger)
    {
        _balance = options.Balance;
        _maxOpen = options.MaxConnsPerUpstream;
        _listener = listener;
        _logger = logger;
        _upstreams = [.. options.To.Select((address, i) => new Upstream(address, options.Addresses[i], time, options.Check.Enabled))];
        foreach (var upstream in _upstreams)
            upstream.Changed += Report;
    }

    public IReadOnlyList<Upstream> All => _upstreams;

    /// <summary>The upstream for a client's next attempt, none of <paramref name="tried"/>; null when none is available.</summary>
    public Upstream? Choose(IReadOnlyCollection<Upstream>? tried)
    {
        switch (_balance)
        {
            case Balance.First:
                foreach (var upstream in _upstreams)
                {
                    if (Eligible(upstream, tried))
                        return upstream;
                }
                return null;
            case Balance.LeastConn:
                Upstream? least = null;
                foreach (var upstream in _upstreams)
                {
                    if (Eligible(upstream, tried) && (least is null || upstream.Open < least.Open))
                        least = upstream;
                }
                return least;
            default:
                int start = Interlocked.Increment(ref _turn) & int.MaxValue;
                for (int i = 0; i < _upstreams.Length; i++)
                {
                    var upstream = _upstreams[(start + i) % _upstreams.Length];
                    if (Eligible(upstream, tried))
                        return upstream;
                }
                return null;
        }
    }

    private bool Eligible(Upstream upstream, IReadOnlyCollection<Upstream>? tried) =>
        (tried is null || !tried.Contains(upstream)) && upstream.IsAvailable(_maxOpen);

    private void Report(Upstream upstream, bool up, string cause)
    {
        if (up)
            UpstreamUp(_logger, _listener, upstream.Name, cause);
        else
            UpstreamDown(_logger, _listener, upstream.Name, cause);
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "forward {Listener}: upstream {Upstream} is down: {Cause}")]
    private static partial void UpstreamDown(ILogger logger, string listener, string upstream, string cause);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "forward {Listener}: upstream {Upstream} is up again: {Cause}")]
    private static partial void UpstreamUp(ILogger logger, string listener, string upstream, string cause);
}
