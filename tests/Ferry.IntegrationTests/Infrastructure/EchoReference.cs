using System.Globalization;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>
/// bench/echo-epoll.c, the C reference server of bench/run.sh, built once per test run with the
/// flags run.sh uses plus -Werror (so a warning fails the test too), and started as a real peer:
/// TCP, UDP (--udp) or a Unix stream socket (--unix PATH).
/// </summary>
internal sealed class EchoReference : IAsyncDisposable
{
    private static readonly SemaphoreSlim BuildLock = new(1, 1);
    private static string? _binary;

    private EchoReference(RunningProcess process, string listening)
    {
        Process = process;
        Listening = listening;
    }

    public RunningProcess Process { get; }

    /// <summary>What its "listening" line named: the port, or the socket's path.</summary>
    public string Listening { get; }

    public int Port => int.Parse(Listening, CultureInfo.InvariantCulture);

    /// <summary>Starts it with <paramref name="args"/> (<c>--udp 0</c>, <c>--unix PATH</c>) and waits for its "listening" line.</summary>
    public static async Task<EchoReference> StartAsync(params string[] args)
    {
        var process = RunningProcess.Start(await BuildAsync(), args);
        try
        {
            string line = await process.ReadStdoutLineAsync(TimeSpan.FromSeconds(10));
            Assert.StartsWith("listening ", line);
            return new EchoReference(process, line["listening ".Length..]);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();

    private static async Task<string> BuildAsync()
    {
        await BuildLock.WaitAsync();
        try
        {
            if (_binary is not null)
                return _binary;
            string gcc = ExternalTool.Require("gcc");
            // Beside the test binaries: rebuilt by every test run, never left in /tmp.
            string output = Path.Combine(AppContext.BaseDirectory, "echo-epoll");
            var result = await ToolRun.RunAsync(gcc,
                ["-O2", "-Wall", "-Wextra", "-Werror", "-o", output, Repository.PathOf("bench/echo-epoll.c")],
                timeout: TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 0, $"gcc exited {result.ExitCode}: {result.Stderr}");
            return _binary = output;
        }
        finally
        {
            BuildLock.Release();
        }
    }
}
