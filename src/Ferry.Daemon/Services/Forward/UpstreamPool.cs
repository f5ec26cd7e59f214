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

    /// <summary>An upstream came up (again).</summary>
    public event Action? CameUp;

    /// <summary>
    /// The upstream for a client's next attempt, none of <paramref name="tried"/>, with the pair
    /// already counted on it (<see cref="Upstream.TryOpen"/>: two clients on two threads cannot both
    /// take its last slot); null when none is available.
    /// </summary>
    public Upstream? Choose(IReadOnlyCollection<Upstream>? tried)
    {
        if (_balance == Balance.LeastConn)
        {
            // Another thread may take the least loaded one's last slot first: look again then.
            for (int look = 0; look < _upstreams.Length; look++)
            {
                Upstream? least = null;
                foreach (var upstream in _upstreams)
                {
                    if (!Tried(upstream, tried) && !upstream.IsFull(_maxOpen) && (least is null || upstream.Open < least.Open)
                        && upstream.IsAvailable())
                        least = upstream;
                }
                if (least is null)
                    return null;
                if (least.TryOpen(_maxOpen))
                    return least;
            }
            return null;
        }
        int start = _balance == Balance.First ? 0 : Interlocked.Increment(ref _turn) & int.MaxValue;
        for (int i = 0; i < _upstreams.Length; i++)
        {
            var upstream = _upstreams[(start + i) % _upstreams.Length];
            if (!Tried(upstream, tried) && !upstream.IsFull(_maxOpen) && upstream.IsAvailable() && upstream.TryOpen(_maxOpen))
                return upstream;
        }
        return null;
    }

    /// <summary>Every upstream that is up is at maxConnsPerUpstream: why a client found none.</summary>
    public bool AllFull() => _upstreams.Any(u => !u.IsDown) && _upstreams.All(u => u.IsDown || u.IsFull(_maxOpen));

    private static bool Tried(Upstream upstream, IReadOnlyCollection<Upstream>? tried) => tried is not null && tried.Contains(upstream);

    private void Report(Upstream upstream, bool up, string cause)
    {
        if (up)
        {
            UpstreamUp(_logger, _listener, upstream.Name, cause);
            CameUp?.Invoke();
        }
        else
        {
            UpstreamDown(_logger, _listener, upstream.Name, cause);
        }
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "{Listener}: upstream {Upstream} is down: {Cause}")]
    private static partial void UpstreamDown(ILogger logger, string listener, string upstream, string cause);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "{Listener}: upstream {Upstream} is up again: {Cause}")]
    private static partial void UpstreamUp(ILogger logger, string listener, string upstream, string cause);
}
