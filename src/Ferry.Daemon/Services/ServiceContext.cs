using Ferry.Daemon.Listeners;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Services;

/// <summary>What a service gets when its listener is created: its settings (options already read and checked), clock and logs.</summary>
internal sealed class ServiceContext(ListenerSettings listener, TimeProvider time, ILoggerFactory loggers)
{
    public ListenerSettings Listener { get; } = listener;

    public TimeProvider Time { get; } = time;

    public ILoggerFactory Loggers { get; } = loggers;

    /// <summary>The service's options as its <see cref="ServiceDefinition.ReadOptions"/> made them.</summary>
    public T Options<T>() => (T)Listener.ServiceOptions!;
}

/// <summary>
/// A listener option with a bad value; reported as a usage error (exit 2) on the command line, a
/// config error (exit 6) in a file. <paramref name="aboutTheSystem"/>: the value is well formed
/// but what it names cannot be used on this machine (exec's program is missing, user= without
/// root): a config error (exit 6) wherever it was written.
/// </summary>
internal sealed class ServiceOptionException(string message, bool aboutTheSystem = false) : Exception(message)
{
    public bool AboutTheSystem { get; } = aboutTheSystem;
}
