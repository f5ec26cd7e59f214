using Ferry.Daemon.Listeners;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services;

/// <summary>
/// The service instance of each listener. Listeners that name the same port, service and options
/// on different addresses (<c>127.0.0.1:7000=chat</c> and <c>[::1]:7000=chat</c>) share one
/// instance, as one listener on <c>localhost:7000</c> does: one chat hub, one broker. Others get
/// their own, even when written alike with port 0. An instance is disposed (a sink flushed) when
/// its last listener is removed, after their connections drained.
/// </summary>
internal sealed class ServiceSet : IAsyncDisposable
{
    private readonly Dictionary<ListenerSettings, Shared> _byListener = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, Shared> _byKey = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    private sealed class Shared(IListenerService service, string? key)
    {
        public IListenerService Service { get; } = service;

        public string? Key { get; } = key;

        public int Users { get; set; } = 1;
    }

    /// <summary>Creates every service first, so a bad option is reported before any port is taken.</summary>
    public static ServiceSet Create(IEnumerable<ListenerSettings> listeners, ILoggerFactory loggers)
    {
        var set = new ServiceSet();
        foreach (var listener in listeners)
            set.Acquire(listener, loggers);
        return set;
    }

    public IListenerService this[ListenerSettings listener]
    {
        get
        {
            lock (_gate)
                return _byListener[listener].Service;
        }
    }

    /// <summary>The listener's service: the one it shares with a listener on the same port, service and options, or a new one.</summary>
    public IListenerService Acquire(ListenerSettings listener, ILoggerFactory loggers)
    {
        string? key = SharingKey(listener.Spec);
        lock (_gate)
        {
            if (key is not null && _byKey.TryGetValue(key, out var shared))
            {
                shared.Users++;
                _byListener.Add(listener, shared);
                return shared.Service;
            }
        }
        var service = ServiceCatalog.Create(new ServiceContext(listener, TimeProvider.System, loggers));
        lock (_gate)
        {
            var created = new Shared(service, key);
            _byListener.Add(listener, created);
            if (key is not null)
                _byKey[key] = created;
        }
        return service;
    }

    /// <summary>The listener is gone; its service too, if no other listener shares it.</summary>
    public async Task RemoveAsync(ListenerSettings listener)
    {
        IListenerService? last = null;
        lock (_gate)
        {
            if (!_byListener.Remove(listener, out var shared))
                return;
            if (--shared.Users == 0)
            {
                if (shared.Key is not null)
                    _byKey.Remove(shared.Key);
                last = shared.Service;
            }
        }
        if (last is not null)
            await DisposeAsync(last);
    }

    /// <summary>
    /// Port, service and every option: what makes listeners on different addresses one service.
    /// Never a udp: listener's: forward's sessions answer from their own listener's socket.
    /// </summary>
    private static string? SharingKey(ListenerSpec spec) =>
        spec.Port == 0 || spec.Transport == ListenerTransport.Udp ? null : $"{spec.Transport}:{spec.Port}={spec.ServiceAndOptions}";

    /// <summary>Flushes what a service holds (a sink's file); called after its connections drained.</summary>
    public static ValueTask DisposeAsync(IListenerService service) =>
        service is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        IListenerService[] all;
        lock (_gate)
        {
            all = _byListener.Values.Select(s => s.Service).Distinct().ToArray();
            _byListener.Clear();
            _byKey.Clear();
        }
        foreach (var service in all)
            await DisposeAsync(service);
    }
}
