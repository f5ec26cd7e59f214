using System.Net;
using System.Net.Sockets;
using Ferry.Protocol;

namespace Ferry.Daemon.Services.Forward;

/// <summary>One address of an upstream, with its <c>sockaddr</c> bytes made once for every connect to it.</summary>
internal sealed record UpstreamEndpoint(IPEndPoint EndPoint)
{
    public byte[] SocketAddress { get; } = Ferry.Platform.Net.SocketAddressBytes.Of(EndPoint);

    public override string ToString() => Ferry.Platform.Net.EndpointText.Format(EndPoint);
}

/// <summary>
/// One <c>to=</c> entry of a forward: its addresses, how many pairs are open through it, and its
/// health. Passive: a failed connect takes it down, and it is tried again after a back-off
/// (1 s, doubling to 30 s) by the next client that needs it; a connect that works brings it up.
/// With active checks, checks alone bring a down upstream back (<see cref="HealthCheck.Rise"/>
/// in a row), and <see cref="HealthCheck.Fall"/> failed checks in a row take it down.
/// Every change is reported once (<see cref="Changed"/>), never the failures in between.
/// </summary>
internal sealed class Upstream : IConnectionDescription
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1), LongestBackoff = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly bool _checked;
    private UpstreamEndpoint[] _endpoints;
    private int _nextEndpoint;
    private int _failedInARow;
    private int _open;
    private bool _down;
    private long _retryAt;
    private TimeSpan _backoff;
    private int _checkRun;
    private int _resolving;
    private readonly long[] _failures = new long[ConnectFailureText.All.Length];

    public Upstream(HostPort address, IPAddress[] addresses, TimeProvider time, bool activelyChecked)
    {
        Address = address;
        Name = address.ToString();
        IsName = !IPAddress.TryParse(address.Host, out _);
        _endpoints = [.. addresses.Select(a => new UpstreamEndpoint(new IPEndPoint(a, address.Port)))];
        _time = time;
        _checked = activelyChecked;
    }

    public HostPort Address { get; }

    /// <summary>As written in <c>to=</c>, for log lines.</summary>
    public string Name { get; }

    /// <summary>A host name rather than an address: resolved again when each of its addresses has failed.</summary>
    public bool IsName { get; }

    /// <summary>A pair's upstream, as "ferryd status --connections" shows it.</summary>
    string? IConnectionDescription.Upstream => Name;

    /// <summary>Up or down changed: (upstream, now up, why); raised under the upstream's lock, so it must not call back into it.</summary>
    public event Action<Upstream, bool, string>? Changed;

    public int Open => Volatile.Read(ref _open);

    public bool IsDown
    {
        get
        {
            lock (_gate)
                return _down;
        }
    }

    /// <summary>Where the next connect goes: its addresses in turn, moving on after a failure.</summary>
    public UpstreamEndpoint NextEndpoint()
    {
        lock (_gate)
            return _endpoints[_nextEndpoint % _endpoints.Length];
    }

    /// <summary>
    /// May a client's connect go here now: up, or down with its back-off over and no active check
    /// to wait for. A down upstream lets one client through per back-off (the probe), not every
    /// client that arrives while the probe is under way.
    /// </summary>
    public bool IsAvailable()
    {
        lock (_gate)
        {
            if (!_down)
                return true;
            if (_checked || _time.GetTimestamp() < _retryAt)
                return false;
            _retryAt = _time.GetTimestamp() + (long)(_backoff.TotalSeconds * _time.TimestampFrequency);
            return true;
        }
    }

    /// <summary>Counts a pair (or a connect in flight) when the upstream has room for it under <paramref name="maxOpen"/> (0: no limit).</summary>
    public bool TryOpen(int maxOpen)
    {
        while (true)
        {
            int open = Volatile.Read(ref _open);
            if (maxOpen > 0 && open >= maxOpen)
                return false;
            if (Interlocked.CompareExchange(ref _open, open + 1, open) == open)
                return true;
        }
    }

    public bool IsFull(int maxOpen) => maxOpen > 0 && Open >= maxOpen;

    public void PairOpened() => Interlocked.Increment(ref _open);

    public void PairClosed() => Interlocked.Decrement(ref _open);

    /// <summary>A client's connect worked.</summary>
    public void Connected()
    {
        lock (_gate)
        {
            _failedInARow = 0;
            if (!_down || _checked)
                return;
            _down = false;
            // Under the lock, so up and down lines come out in the order the changes happened.
            Changed?.Invoke(this, true, "a connect succeeded");
        }
    }

    /// <summary>Failed connects of clients so far, for this cause (active checks are not counted).</summary>
    public long FailuresFor(ConnectFailure kind) => Interlocked.Read(ref _failures[(int)kind]);

    /// <summary>A client's connect failed. Returns true when each address has now failed in a row (time to resolve the name again).</summary>
    public bool ConnectFailed(string cause, ConnectFailure kind)
    {
        Interlocked.Increment(ref _failures[(int)kind]);
        bool wentDown;
        bool everyAddressFailed;
        lock (_gate)
        {
            _nextEndpoint++;
            _failedInARow++;
            everyAddressFailed = _failedInARow >= _endpoints.Length;
            wentDown = !_down;
            _backoff = _down ? TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, LongestBackoff.Ticks)) : FirstBackoff;
            _down = true;
            _checkRun = 0;
            _retryAt = _time.GetTimestamp() + (long)(_backoff.TotalSeconds * _time.TimestampFrequency);
            if (wentDown)
                Changed?.Invoke(this, false, cause);
        }
        return everyAddressFailed && IsName;
    }

    /// <summary>An active check's result; <paramref name="rise"/> or <paramref name="fall"/> in a row change the state.</summary>
    public void Checked(bool ok, string cause, int rise, int fall)
    {
        bool? nowUp = null;
        lock (_gate)
        {
            // Counts successes while down and failures while up, each in a row.
            _checkRun = ok == _down ? _checkRun + 1 : 0;
            if (!ok)
                _nextEndpoint++;
            if (_down && ok && _checkRun >= rise)
                nowUp = true;
            else if (!_down && !ok && _checkRun >= fall)
                nowUp = false;
            if (nowUp is { } up)
            {
                _down = !up;
                _checkRun = 0;
                _failedInARow = 0;
                Changed?.Invoke(this, up, ok ? $"{rise} checks passed" : $"{fall} checks failed, the last: {cause}");
            }
        }
    }

    /// <summary>Resolves the name again, once at a time; new addresses replace the old ones.</summary>
    public async Task ResolveAgainAsync()
    {
        if (Interlocked.Exchange(ref _resolving, 1) == 1)
            return;
        try
        {
            IPAddress[] addresses = await Dns.GetHostAddressesAsync(Address.Host!);
            var usable = addresses.Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6).ToArray();
            if (usable.Length == 0)
                return;
            lock (_gate)
            {
                _endpoints = [.. usable.Select(a => new UpstreamEndpoint(new IPEndPoint(a, Address.Port)))];
                _nextEndpoint = 0;
                _failedInARow = 0;
            }
        }
        catch (SocketException)
        {
            // Keeps the addresses it had: a resolver that is down now must not take the upstream away.
        }
        finally
        {
            Volatile.Write(ref _resolving, 0);
        }
    }
}
