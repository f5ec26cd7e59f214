namespace Ferry.Daemon.Hosting;

/// <summary>
/// What ServerHost does differently when it runs as the detached daemon: it takes the pid
/// file even when none is configured, and tells the waiting parent it is ready.
/// </summary>
internal sealed record DaemonRole(Action Ready);
