using System.Buffers.Binary;
using System.Net;
using Ferry.Platform.Linux;
using Ferry.Platform.Net;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Judges each datagram of a udp: listener by its sender before the service sees it: a source
/// port another simple service answers from (a loop, VU#417980), allow/deny, and a token bucket
/// per source (an IPv4 address or IPv6 /64, as <see cref="SourceLimits"/>). Used by the one
/// socket thread that serves the listener, so nothing here is locked; the last sender's verdict is
/// kept, so a stream of datagrams from one peer costs no allocation.
/// </summary>
internal sealed class DatagramScreen(ListenerPolicy policy, TimeProvider time, int ownPort = 0)
{
    /// <summary>Sources with a bucket at most: past it, buckets that have refilled are forgotten, and if none has, new sources wait.</summary>
    public const int MaxSources = 65_536;

    private readonly DatagramPolicy _rules = policy.Datagrams!;
    private readonly Dictionary<IPAddress, TokenBucket> _buckets = [];
    private readonly byte[] _lastAddress = new byte[16];
    private int _lastFamily = -1;
    private bool _lastAllowed;
    private IPAddress? _lastSource;   // null: exempt
    private readonly byte[] _lastDropped = new byte[32];
    private int _lastDroppedLength;
    private long _noRoomUntil;

    /// <summary>The last sender dropped, for the summary log line (made from its bytes only when asked).</summary>
    public IPAddress? LastDropped
    {
        get
        {
            var endpoint = SocketAddressBytes.ToEndPoint(_lastDropped.AsSpan(0, Volatile.Read(ref _lastDroppedLength)));
            return endpoint is null ? null : EndpointText.Unmapped(endpoint.Address);
        }
    }

    /// <summary>Ports of the services that answer anything (echo, daytime, quote, chargen, time), and 0.</summary>
    public static bool IsLoopPort(int port) => port is 0 or 7 or 13 or 17 or 19 or 37;

    /// <summary>Why this sender's datagram must not be answered, or null.</summary>
    public DatagramDrop? Judge(ReadOnlySpan<byte> sender)
    {
        if (sender.Length < 16)
            return DatagramDrop.NotAllowed;
        // Also from our own port: two servers of one kind on one port answering each other.
        int port = BinaryPrimitives.ReadUInt16BigEndian(sender[2..]);
        if (IsLoopPort(port) || port == ownPort)
            return Dropped(sender, DatagramDrop.LoopPort);
        if (!IsLastSender(sender))
            Remember(sender);
        if (!_lastAllowed)
            return Dropped(sender, DatagramDrop.NotAllowed);
        if (_lastSource is not null && _rules.Rate > 0 && !TakeToken(_lastSource))
            return Dropped(sender, DatagramDrop.RateExceeded);
        return null;
    }

    /// <summary>Notes <paramref name="sender"/> as the last one dropped (for the summary line), and says why.</summary>
    public DatagramDrop Dropped(ReadOnlySpan<byte> sender, DatagramDrop reason)
    {
        int length = Math.Min(sender.Length, _lastDropped.Length);
        sender[..length].CopyTo(_lastDropped);
        Volatile.Write(ref _lastDroppedLength, length);
        return reason;
    }

    private static ReadOnlySpan<byte> AddressBytes(ReadOnlySpan<byte> sender, int family) =>
        family == SocketCalls.AddressFamilyInet ? sender.Slice(4, 4) : sender.Slice(8, 16);

    private bool IsLastSender(ReadOnlySpan<byte> sender)
    {
        int family = BinaryPrimitives.ReadUInt16LittleEndian(sender);
        return family == _lastFamily && AddressBytes(sender, family).SequenceEqual(_lastAddress.AsSpan(0, family == SocketCalls.AddressFamilyInet ? 4 : 16));
    }

    private void Remember(ReadOnlySpan<byte> sender)
    {
        var endpoint = SocketAddressBytes.ToEndPoint(sender);
        int family = BinaryPrimitives.ReadUInt16LittleEndian(sender);
        _lastFamily = family;
        AddressBytes(sender, family).CopyTo(_lastAddress);
        if (endpoint is null)
        {
            _lastAllowed = false;
            return;
        }
        var address = EndpointText.Unmapped(endpoint.Address);
        _lastAllowed = policy.Admits(address);
        _lastSource = policy.Exempt.Contains(address) ? null : SourceLimits.SourceOf(address);
    }

    private bool TakeToken(IPAddress source)
    {
        long now = time.GetTimestamp();
        if (!_buckets.TryGetValue(source, out var bucket))
        {
            if (_buckets.Count >= MaxSources && !ForgetRefilled(now))
                return false;
            bucket = new TokenBucket(_rules.Rate, _rules.Burst, now);
            _buckets[source] = bucket;
        }
        return bucket.TryTake(time, now);
    }

    /// <summary>
    /// Forgets the sources whose buckets are full again; true if that made room. A pass that makes
    /// none is not tried again before a bucket could have refilled, so a flood of new sources costs
    /// one pass per refill time, not one per datagram.
    /// </summary>
    private bool ForgetRefilled(long now)
    {
        if (now < _noRoomUntil)
            return false;
        foreach (var (source, bucket) in _buckets)
        {
            if (bucket.IsFull(time, now))
                _buckets.Remove(source);
        }
        if (_buckets.Count < MaxSources)
            return true;
        _noRoomUntil = now + (long)(time.TimestampFrequency * (_rules.Burst / _rules.Rate));
        return false;
    }
}
