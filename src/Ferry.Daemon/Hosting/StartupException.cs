namespace Ferry.Daemon.Hosting;

/// <summary>
/// A startup failure caused by the user's input or the environment (busy port, unwritable
/// log file): reported as one line on stderr with <see cref="ExitCode"/>, never a stack trace.
/// </summary>
internal sealed class StartupException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
