using System.Runtime.InteropServices;

namespace Ferry.Client;

/// <summary>
/// Turns SIGINT and SIGTERM into cancellation, so ferry stops through its normal return path
/// (no stack trace, conventional exit code) instead of being torn down by the runtime.
/// </summary>
internal sealed class TerminationSignals : IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;
    private int _exitCode;

    public TerminationSignals()
    {
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Stop(context, ExitCodes.Interrupted));
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Stop(context, ExitCodes.Terminated));
    }

    public CancellationToken Token => _cancellation.Token;

    /// <summary>The exit code for the first signal received, or null while none has arrived.</summary>
    public int? ExitCode => Volatile.Read(ref _exitCode) is var code and not 0 ? code : null;

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _cancellation.Dispose();
    }

    private void Stop(PosixSignalContext context, int exitCode)
    {
        // A second signal means the first did not stop us quickly enough: let the default
        // action kill the process rather than ignore the user again.
        if (Interlocked.CompareExchange(ref _exitCode, exitCode, 0) != 0)
            return;
        context.Cancel = true;
        _cancellation.Cancel();
    }
}
