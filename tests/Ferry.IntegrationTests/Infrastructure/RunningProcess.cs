using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>
/// A real child process with its stdout captured line by line (or as bytes) and its stderr
/// captured whole. Disposing kills it if it is still running, so no test leaks children.
/// </summary>
internal sealed class RunningProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _stdoutLines = Channel.CreateUnbounded<string>();
    private readonly MemoryStream _stdoutBytes = new();
    private readonly StringBuilder _stderr = new();
    private readonly Channel<string> _stderrLines = Channel.CreateUnbounded<string>();
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;

    private RunningProcess(Process process, bool binaryStdout)
    {
        _process = process;
        _stdoutPump = binaryStdout ? PumpBinaryStdoutAsync() : PumpLinesAsync(process.StandardOutput, _stdoutLines, null);
        _stderrPump = PumpLinesAsync(process.StandardError, _stderrLines, _stderr);
    }

    public int Pid => _process.Id;

    public Stream StandardInput => _process.StandardInput.BaseStream;

    public static RunningProcess Start(string file, IEnumerable<string> args, bool binaryStdout = false,
        IDictionary<string, string>? environment = null)
    {
        var process = Process.Start(Redirected(file, args, environment)) ?? throw new InvalidOperationException($"cannot start {file}");
        return new RunningProcess(process, binaryStdout);
    }

    /// <summary>Start info with all three standard streams redirected to the test.</summary>
    public static ProcessStartInfo Redirected(string file, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
            info.ArgumentList.Add(arg);
        if (environment is not null)
            foreach (var (key, value) in environment)
                info.Environment[key] = value;
        return info;
    }

    /// <summary>Everything written to stderr so far.</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
                return _stderr.ToString();
        }
    }

    public Task<string> ReadStdoutLineAsync(TimeSpan timeout) => ReadLineAsync(_stdoutLines, "stdout", timeout);

    public Task<string> ReadStderrLineAsync(TimeSpan timeout) => ReadLineAsync(_stderrLines, "stderr", timeout);

    private async Task<string> ReadLineAsync(Channel<string> lines, string stream, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await lines.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no {stream} line within {timeout}; stderr: {StandardError}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"{stream} closed (exit {ExitCodeOrNull()}); stderr: {StandardError}");
        }
    }

    /// <summary>Stdout bytes, once the process has exited (binary mode only).</summary>
    public async Task<byte[]> StdoutBytesAsync()
    {
        await _stdoutPump;
        return _stdoutBytes.ToArray();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"process {Pid} did not exit within {timeout}; stderr: {StandardError}");
        }
        await Task.WhenAll(_stdoutPump, _stderrPump);
        return _process.ExitCode;
    }

    public bool HasExited => _process.HasExited;

    public void Signal(int signal) => Signals.Send(Pid, signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private int? ExitCodeOrNull() => _process.HasExited ? _process.ExitCode : null;

    private static async Task PumpLinesAsync(StreamReader reader, Channel<string> lines, StringBuilder? all)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            if (all is not null)
                lock (all)
                    all.AppendLine(line);
            lines.Writer.TryWrite(line);
        }
        lines.Writer.TryComplete();
    }

    private async Task PumpBinaryStdoutAsync()
    {
        await _process.StandardOutput.BaseStream.CopyToAsync(_stdoutBytes);
        _stdoutLines.Writer.TryComplete();
    }
}
