using System.Net;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>
/// A running ferryd whose "listening SERVICE ADDRESS" lines have been read: ADDR:PORT for TCP,
/// udp:ADDR:PORT, unix:PATH (a unix: listener's EndPoint is none: 0.0.0.0:0).
/// </summary>
internal sealed class FerrydProcess : IAsyncDisposable
{
    public static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(20);

    private FerrydProcess(RunningProcess process, IReadOnlyList<(string Service, IPEndPoint EndPoint)> listeners, IReadOnlyList<string> addresses)
    {
        Process = process;
        Listeners = listeners;
        Addresses = addresses;
    }

    /// <summary>Each listener's address as ferryd printed it, in the order of <see cref="Listeners"/>.</summary>
    public IReadOnlyList<string> Addresses { get; }

    /// <summary>The port of the first udp: listener of <paramref name="service"/>.</summary>
    public int UdpPort(string service = "echo") =>
        Listeners.Where((l, i) => l.Service == service && Addresses[i].StartsWith("udp:", StringComparison.Ordinal)).First().EndPoint.Port;

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
            var addresses = new List<string>();
            while (listeners.Count < listenerCount)
            {
                string line = await process.ReadStdoutLineAsync(StartupTimeout);
                var parts = line.Split(' ', 3);
                Assert.True(parts.Length == 3 && parts[0] == "listening", $"unexpected stdout line: {line}");
                string address = parts[2];
                listeners.Add((parts[1], address.StartsWith("unix:", StringComparison.Ordinal) ? new IPEndPoint(IPAddress.Any, 0)
                    : IPEndPoint.Parse(address.StartsWith("udp:", StringComparison.Ordinal) ? address[4..] : address)));
                addresses.Add(address);
            }
            return new FerrydProcess(process, listeners, addresses);
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
