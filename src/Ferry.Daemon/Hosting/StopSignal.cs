using System.Runtime.InteropServices;

namespace Ferry.Daemon.Hosting;

/// <summary>SIGTERM and SIGINT request a graceful stop; the handler only cancels a token.</summary>
internal sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource _requested = new();
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _interrupt;

    public StopSignal()
    {
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
    }

    public Task WaitAsync() => Task.Delay(Timeout.Infinite, _requested.Token).ContinueWith(_ => { }, TaskScheduler.Default);

    private void Handle(PosixSignalContext context)
    {
        // Cancel = true: we stop in our own time instead of the runtime's default exit.
        context.Cancel = true;
        _requested.Cancel();
    }

    public void Dispose()
    {
        _term.Dispose();
        _interrupt.Dispose();
        _requested.Dispose();
    }
}
