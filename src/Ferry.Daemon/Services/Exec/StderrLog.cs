using System.IO.Pipelines;
using Ferry.Daemon.Connections;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Services.Exec;

/// <summary>
/// A program's standard error (stderr=log), read from ferryd's end of its socket: each line is
/// escaped and truncated like peer text and handed to <paramref name="logLine"/> (which limits the
/// rate); the last line is kept for the close line of a program that failed.
/// </summary>
internal sealed class StderrLog(Action<string> logLine)
{
    private string? _lastLine;

    public string? LastLine => Volatile.Read(ref _lastLine);

    /// <summary>Reads until the program and everything it started closed standard error, or the read is cancelled.</summary>
    public async Task ReadAsync(PipeReader stderr)
    {
        var lines = new ReceivedLineLog(line =>
        {
            Volatile.Write(ref _lastLine, line);
            logLine(line);
        });
        try
        {
            while (true)
            {
                var read = await stderr.ReadAsync();
                lines.Observe(read.Buffer);
                stderr.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                    break;
            }
        }
        catch (Exception ex) when (ex is IOException or ConnectionAbortedException or ObjectDisposedException or InvalidOperationException)
        {
            // A reset or our own close: what came before it was logged.
        }
        lines.Flush();
    }
}
