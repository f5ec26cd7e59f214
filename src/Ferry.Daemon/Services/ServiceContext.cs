using Ferry.Daemon.Listeners;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services;

/// <summary>What a service gets when its listener is created: its options, clock and logs.</summary>
internal sealed class ServiceContext(ListenerSpec spec, TimeProvider time, ILoggerFactory loggers)
{
    public ListenerSpec Spec { get; } = spec;

    public TimeProvider Time { get; } = time;

    public ILoggerFactory Loggers { get; } = loggers;

    /// <summary>A listener option, or null when not given.</summary>
    public string? Option(string key) => Spec.Options.TryGetValue(key, out string? value) ? value : null;

    /// <summary>
    /// Rejects options the service does not know, so a typo is a usage error
    /// instead of a silently ignored setting. Listener-level keys (limits, allow/deny, TLS:
    /// <see cref="ListenerPolicy.Keys"/>) belong to the listener, not the service.
    /// </summary>
    public void AllowOnly(params string[] known)
    {
        foreach (string key in Spec.Options.Keys)
        {
            if (!known.Contains(key, StringComparer.OrdinalIgnoreCase) && !ListenerPolicy.IsListenerKey(key))
            {
                string accepted = known.Length == 0 ? "it takes no options" : "known: " + string.Join(", ", known);
                throw new ServiceOptionException($"listener {Spec}: unknown option '{key}' for {Spec.Service} ({accepted})");
            }
        }
    }
}

/// <summary>A listener option with a bad value; reported like any other usage error (exit 2).</summary>
internal sealed class ServiceOptionException(string message) : Exception(message);
