namespace Ferry.Daemon.Hosting;

/// <summary>
/// ferryd's exit codes; documented in the README and docs, so scripts may rely on them.
/// </summary>
internal static class ExitCodes
{
    /// <summary>Clean exit, including a graceful stop on SIGTERM/SIGINT.</summary>
    public const int Ok = 0;

    /// <summary>A failure at run time that is not one of the cases below; a rejected reload.</summary>
    public const int Failure = 1;

    /// <summary>Bad command line: unknown option, malformed listener, unknown service.</summary>
    public const int Usage = 2;

    /// <summary>"ferryd status" and "ferryd reload": the daemon is not running (LSB convention).</summary>
    public const int NotRunning = 3;

    /// <summary>A listener could not be bound: busy port, permission denied, unknown host.</summary>
    public const int CannotListen = 4;

    /// <summary>A log file or directory could not be opened for writing.</summary>
    public const int CannotLog = 5;

    /// <summary>The configuration file is missing, unreadable, malformed or invalid.</summary>
    public const int BadConfig = 6;

    /// <summary>"ferryd start": another ferryd already holds the pid file.</summary>
    public const int AlreadyRunning = 7;
}
