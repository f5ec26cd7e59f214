using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// Runs work when a signal arrives, on an ordinary task: the handler only queues a request
/// (house rule: signal handlers set flags). Requests that arrive while the work runs are
/// folded into one more run, so a burst of signals cannot pile up work.
/// </summary>
internal sealed class SignalQueue : IAsyncDisposable
{
    private readonly Channel<bool> _requests = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly PosixSignalRegistration _registration;
    private readonly Task _running;

    public SignalQueue(PosixSignal signal, Func<Task> work)
    {
        _registration = PosixSignalRegistration.Create(signal, context =>
        {
            // Cancel: ours to handle; the runtime must not apply the signal's default action.
            context.Cancel = true;
            _requests.Writer.TryWrite(true);
        });
        _running = RunAsync(work);
    }

    private async Task RunAsync(Func<Task> work)
    {
        await foreach (bool _ in _requests.Reader.ReadAllAsync())
            await work();
    }

    public async ValueTask DisposeAsync()
    {
        _registration.Dispose();
        _requests.Writer.TryComplete();
        await _running;
    }
}
