namespace Ferry.Daemon.Hosting;

/// <summary>
/// What ServerHost does differently when it runs as the detached daemon: hold the pid
/// file, serve the status socket, and tell the waiting parent it is ready.
/// </summary>
internal sealed record DaemonRole(string PidFile, Action Ready);
