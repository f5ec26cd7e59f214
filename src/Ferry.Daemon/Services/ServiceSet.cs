using Ferry.Daemon.Listeners;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services;

/// <summary>
/// The service instance of each listener spec. Keyed by reference: two listeners written
/// alike ("127.0.0.1:0" twice) are still two listeners, each with its own service; one spec
/// bound to several addresses (a host name) shares one service (one chat hub).
/// </summary>
internal sealed class ServiceSet : IAsyncDisposable
{
    private readonly Dictionary<ListenerSettings, IConnectionService> _services = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _gate = new();

    /// <summary>Creates every service first, so a bad option is reported before any port is taken.</summary>
    public static ServiceSet Create(IEnumerable<ListenerSettings> listeners, ILoggerFactory loggers)
    {
        var set = new ServiceSet();
        foreach (var listener in listeners)
            set.Add(listener, ServiceCatalog.Create(new ServiceContext(listener, TimeProvider.System, loggers)));
        return set;
    }

    public IConnectionService this[ListenerSettings spec]
    {
        get
        {
            lock (_gate)
                return _services[spec];
        }
    }

    public void Add(ListenerSettings spec, IConnectionService service)
    {
        lock (_gate)
            _services.Add(spec, service);
    }

    public async Task RemoveAsync(ListenerSettings spec)
    {
        IConnectionService? service;
        lock (_gate)
            _services.Remove(spec, out service);
        if (service is not null)
            await DisposeAsync(service);
    }

    /// <summary>Flushes what a service holds (a sink's file); called after its connections drained.</summary>
    public static ValueTask DisposeAsync(IConnectionService service) =>
        service is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        IConnectionService[] all;
        lock (_gate)
        {
            all = _services.Values.ToArray();
            _services.Clear();
        }
        foreach (var service in all)
            await DisposeAsync(service);
    }
}
