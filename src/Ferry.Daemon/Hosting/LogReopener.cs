using System.Runtime.InteropServices;
using Ferry.Daemon.Logging;
using Microsoft.Extensions.Logging;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// SIGUSR1 reopens the log files (nginx style), so logrotate can rename them and ferryd
/// continues in new files at the configured paths.
/// </summary>
internal sealed partial class LogReopener(LogOutput output, ILogger logger) : IAsyncDisposable
{
    private readonly SignalQueue _signal = new(SignalNumber.UserSignal1, () =>
    {
        output.ReopenFiles();
        LogReopened(logger, output.HasFiles ? "log files reopened" : "logging to the console: nothing to reopen");
        return Task.CompletedTask;
    });

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "SIGUSR1: {Outcome}")]
    private static partial void LogReopened(ILogger logger, string outcome);

    public ValueTask DisposeAsync() => _signal.DisposeAsync();
}
