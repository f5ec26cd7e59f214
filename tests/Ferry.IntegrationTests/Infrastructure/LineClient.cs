using System.Net.Sockets;
using System.Text;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>A loopback socket read and written as UTF-8 lines, every wait bounded.</summary>
internal sealed class LineClient : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;

    private LineClient(Socket socket)
    {
        Socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, new UTF8Encoding(false));
    }

    public Socket Socket { get; }

    /// <summary>Every line read so far, for failure messages.</summary>
    public List<string> Seen { get; } = [];

    public static async Task<LineClient> ConnectAsync(int port) => new(await Loopback.ConnectAsync(port));

    public static async Task<LineClient> ConnectAsync(System.Net.IPEndPoint endpoint) => new(await Loopback.ConnectAsync(endpoint.Port, endpoint.Address));

    public Task SendAsync(string text) => Loopback.SendAllAsync(Socket, Encoding.UTF8.GetBytes(text));

    public Task SendLineAsync(string line) => SendAsync(line + "\n");

    /// <summary>The next line, or null at end of stream.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        try
        {
            string? line = await _reader.ReadLineAsync(cts.Token);
            if (line is not null)
                Seen.Add(line);
            return line;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no line within {timeout ?? Timeout}; seen: {string.Join(" | ", Seen)}");
        }
    }

    /// <summary>Reads lines until one satisfies <paramref name="match"/>; returns it.</summary>
    public async Task<string> ExpectAsync(Func<string, bool> match, string what)
    {
        while (true)
        {
            string? line = await ReadLineAsync();
            if (line is null)
                Assert.Fail($"connection ended before {what}; seen: {string.Join(" | ", Seen)}");
            if (match(line))
                return line;
        }
    }

    public Task<string> ExpectAsync(string exact) => ExpectAsync(l => l == exact, $"'{exact}'");

    public void Dispose() => _reader.Dispose();
}
