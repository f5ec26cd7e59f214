using System.Net.Sockets;
using System.Text;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// The daemon's status endpoint for "ferryd status": a Unix socket next to the pid file
/// (ferryd.pid → ferryd.sock, mode 0600). A client sends one request line, <c>status</c> or
/// <c>connections</c> (or nothing and closes its side), and reads one JSON document
/// (<see cref="StatusDocument"/>); the connection then closes.
/// </summary>
internal sealed class StatusSocket : IAsyncDisposable
{
    public const string StatusRequest = "status", ConnectionsRequest = "connections";

    /// <summary>A request is one short line; a client that sends none in this time gets the plain status.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);

    private const int MaxRequestBytes = 64;

    private readonly Socket _socket;
    private readonly string _path;
    private readonly StatusSources _sources;
    private readonly Action<string>? _failed;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    private StatusSocket(string path, Socket socket, StatusSources sources, Action<string>? failed)
    {
        _path = path;
        _socket = socket;
        _sources = sources;
        _failed = failed;
        _serving = ServeAsync();
    }

    public static string PathFor(string pidFile) => Path.ChangeExtension(pidFile, ".sock");

    /// <param name="failed">Told why a request could not be answered (an error of ferryd's own).</param>
    public static StatusSocket Open(string path, StatusSources sources, Action<string>? failed = null)
    {
        // A socket file left by a daemon that was killed would make bind fail; the pid
        // file lock (held by now) proves no live ferryd owns it.
        File.Delete(path);
        if (Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
            throw new StartupException(ExitCodes.Failure, $"cannot open status socket {path}: a Unix socket path is at most {MaxPathBytes} bytes (choose a shorter --pid-file)");
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            socket.Listen(16);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new StartupException(ExitCodes.Failure, $"cannot open status socket {path}: {Errno.Describe(ex.ErrorCode)}");
        }
        return new StatusSocket(path, socket, sources, failed);
    }

    /// <summary>sun_path holds 108 bytes, the last one a NUL.</summary>
    private const int MaxPathBytes = 107;

    /// <summary>Requests answered at once, at most; a silent client holds one slot for its timeout, not the socket.</summary>
    private const int MaxClients = 8;

    private async Task ServeAsync()
    {
        using var slots = new SemaphoreSlim(MaxClients);
        await BoundedAcceptLoop.RunAsync(_socket, slots, AnswerAsync, _stop.Token);
    }

    private async Task AnswerAsync(Socket client)
    {
        try
        {
            string request = await ReadRequestAsync(client);
            await client.SendAsync(StatusDocument.Render(_sources, request == ConnectionsRequest), SocketFlags.None, _stop.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
        }
        catch (Exception ex)
        {
            // A status that cannot be rendered must cost the request, never the daemon.
            _failed?.Invoke(ex.GetBaseException().Message);
        }
    }

    /// <summary>The request line, trimmed; "status" when the client sent none (closed its side, or was silent).</summary>
    private async Task<string> ReadRequestAsync(Socket client)
    {
        var buffer = new byte[MaxRequestBytes];
        int length = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            while (length < buffer.Length && Array.IndexOf(buffer, (byte)'\n', 0, length) < 0)
            {
                int read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token);
                if (read == 0)
                    break;
                length += read;
            }
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
        }
        string text = Encoding.ASCII.GetString(buffer, 0, length);
        int end = text.IndexOf('\n');
        text = (end < 0 ? text : text[..end]).Trim();
        return text.Length == 0 ? StatusRequest : text;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        await _serving;
        File.Delete(_path);
        _stop.Dispose();
    }
}
