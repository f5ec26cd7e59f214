using System.Runtime.InteropServices;
using System.Threading.Channels;
using Ferry.Daemon.Logging;
using Microsoft.Extensions.Logging;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// SIGUSR1 reopens the log files (nginx style), so logrotate can rename them and ferryd
/// continues in new files at the configured paths. The signal handler only queues a
/// request; the reopen happens on an ordinary task.
/// </summary>
internal sealed partial class LogReopener : IAsyncDisposable
{
    private readonly Channel<bool> _requests = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly PosixSignalRegistration _signal;
    private readonly Task _reopening;

    public LogReopener(SerilogSetup.Output output, ILogger logger)
    {
        _signal = PosixSignalRegistration.Create((PosixSignal)Native.SigUsr1, context =>
        {
            context.Cancel = true;
            _requests.Writer.TryWrite(true);
        });
        _reopening = ReopenAsync(output, logger);
    }

    private async Task ReopenAsync(SerilogSetup.Output output, ILogger logger)
    {
        await foreach (bool _ in _requests.Reader.ReadAllAsync())
        {
            output.ReopenFiles();
            LogReopened(logger, output.HasFiles ? "log files reopened" : "logging to the console: nothing to reopen");
        }
    }

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "SIGUSR1: {Outcome}")]
    private static partial void LogReopened(ILogger logger, string outcome);

    public async ValueTask DisposeAsync()
    {
        _signal.Dispose();
        _requests.Writer.TryComplete();
        await _reopening;
    }
}
