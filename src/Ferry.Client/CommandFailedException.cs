namespace Ferry.Client;

/// <summary>
/// A failure already phrased for the user. Program prints it as one line,
/// <c>ferry: {Message}</c>, and exits with <see cref="ExitCode"/>; no stack trace.
/// </summary>
internal sealed class CommandFailedException(string message, int exitCode = ExitCodes.Failure)
    : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
