namespace Ferry.Client;

/// <summary>
/// Process exit codes of <c>ferry</c>: 0 success, 1 network or runtime failure, 2 usage error.
/// 130 and 143 follow the shell convention of 128 + signal number for SIGINT and SIGTERM.
/// </summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Interrupted = 130;
    public const int Terminated = 143;
}
