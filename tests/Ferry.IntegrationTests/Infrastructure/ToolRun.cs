using System.Diagnostics;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>Runs a command to completion with given stdin bytes; bounded by a timeout.</summary>
internal static class ToolRun
{
    public sealed record Result(int ExitCode, byte[] Stdout, string Stderr)
    {
        public string StdoutText => System.Text.Encoding.UTF8.GetString(Stdout);
    }

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, byte[]? stdin = null, TimeSpan? timeout = null,
        IDictionary<string, string>? environment = null)
    {
        using var process = Process.Start(RunningProcess.Redirected(file, args, environment)) ?? throw new InvalidOperationException($"cannot start {file}");
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            var stdout = new MemoryStream();
            var readOut = process.StandardOutput.BaseStream.CopyToAsync(stdout, cts.Token);
            var readErr = process.StandardError.ReadToEndAsync(cts.Token);
            try
            {
                if (stdin is not null)
                    await process.StandardInput.BaseStream.WriteAsync(stdin, cts.Token);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The program may exit before reading all of its input (e.g. connection refused);
                // the test judges it by its exit code and output.
            }
            await process.WaitForExitAsync(cts.Token);
            await readOut;
            return new Result(process.ExitCode, stdout.ToArray(), await readErr);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in time");
        }
    }

    /// <summary>Each client (a tool and its arguments) sends <paramref name="payload"/> and must exit 0 with exactly it on stdout.</summary>
    public static async Task AssertEachEchoesAsync(IEnumerable<(string File, string[] Args)> clients, byte[] payload, TimeSpan timeout)
    {
        foreach (var (file, args) in clients)
        {
            var result = await RunAsync(file, args, payload, timeout);
            Assert.True(result.ExitCode == 0, $"{Path.GetFileName(file)} exited {result.ExitCode}: {result.Stderr}");
            Assert.True(payload.AsSpan().SequenceEqual(result.Stdout),
                $"{Path.GetFileName(file)} got {result.Stdout.Length} bytes back, not the {payload.Length} it sent");
        }
    }
}
