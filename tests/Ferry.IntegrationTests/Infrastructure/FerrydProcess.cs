using System.Net;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>A running ferryd whose "listening SERVICE ADDR:PORT" lines have been read.</summary>
internal sealed class FerrydProcess : IAsyncDisposable
{
    public static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(20);

    private FerrydProcess(RunningProcess process, IReadOnlyList<(string Service, IPEndPoint EndPoint)> listeners)
    {
        Process = process;
        Listeners = listeners;
    }

    public RunningProcess Process { get; }

    public IReadOnlyList<(string Service, IPEndPoint EndPoint)> Listeners { get; }

    /// <summary>The port of the first listener of <paramref name="service"/>.</summary>
    public int Port(string service = "echo") => Listeners.First(l => l.Service == service).EndPoint.Port;

    /// <summary>Starts ferryd and waits for <paramref name="listenerCount"/> listening lines.</summary>
    public static async Task<FerrydProcess> StartAsync(int listenerCount, params string[] args)
    {
        var process = RunningProcess.Start(Binaries.Ferryd, args);
        try
        {
            var listeners = new List<(string, IPEndPoint)>();
            while (listeners.Count < listenerCount)
            {
                string line = await process.ReadStdoutLineAsync(StartupTimeout);
                var parts = line.Split(' ');
                Assert.True(parts.Length == 3 && parts[0] == "listening", $"unexpected stdout line: {line}");
                listeners.Add((parts[1], IPEndPoint.Parse(parts[2])));
            }
            return new FerrydProcess(process, listeners);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>One echo listener on 127.0.0.1 with a free port, plus any extra options.</summary>
    public static Task<FerrydProcess> StartEchoAsync(params string[] extra) =>
        StartAsync(1, ["--listen", "127.0.0.1:0=echo", .. extra]);

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
