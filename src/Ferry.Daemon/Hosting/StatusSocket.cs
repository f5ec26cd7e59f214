using System.Net.Sockets;
using System.Text.Json;
using Ferry.Daemon.Listeners;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// The daemon's status endpoint for "ferryd status": a Unix socket next to the pid file
/// (ferryd.pid → ferryd.sock, mode 0600) that answers each connection with one JSON
/// document (pid, uptime, listeners and their connection counts) and closes.
/// </summary>
internal sealed class StatusSocket : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly string _path;
    private readonly Func<IReadOnlyList<BoundListener>> _listeners;
    private readonly Func<ReloadOutcome?> _lastReload;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    private StatusSocket(string path, Socket socket, Func<IReadOnlyList<BoundListener>> listeners, Func<ReloadOutcome?> lastReload)
    {
        _path = path;
        _socket = socket;
        _listeners = listeners;
        _lastReload = lastReload;
        _serving = ServeAsync();
    }

    public static string PathFor(string pidFile) => Path.ChangeExtension(pidFile, ".sock");

    public static StatusSocket Open(string path, Func<IReadOnlyList<BoundListener>> listeners, Func<ReloadOutcome?> lastReload)
    {
        // A socket file left by a daemon that was killed would make bind fail; the pid
        // file lock (held by now) proves no live ferryd owns it.
        File.Delete(path);
        if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
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
        return new StatusSocket(path, socket, listeners, lastReload);
    }

    /// <summary>sun_path holds 108 bytes, the last one a NUL.</summary>
    private const int MaxPathBytes = 107;

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            using (client)
            {
                try
                {
                    await client.SendAsync(Render(), SocketFlags.None, _stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException)
                {
                }
            }
        }
    }

    private byte[] Render()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteBoolean("running", true);
            json.WriteNumber("pid", Environment.ProcessId);
            json.WriteString("started", _started);
            json.WriteNumber("uptimeSeconds", (long)(DateTimeOffset.UtcNow - _started).TotalSeconds);
            json.WriteStartArray("listeners");
            foreach (var listener in _listeners())
            {
                json.WriteStartObject();
                if (listener.Spec.Name is not null)
                    json.WriteString("name", listener.Spec.Name);
                json.WriteString("service", listener.Service);
                json.WriteString("endpoint", listener.EndPoint.ToString());
                json.WriteNumber("open", listener.Counters.Active);
                json.WriteNumber("accepted", listener.Counters.Accepted);
                json.WriteNumber("refused", listener.Counters.RefusedTotal);
                json.WriteStartObject("refusedBy");
                foreach (var reason in RefusalReasonText.All)
                {
                    if (listener.Counters.RefusedFor(reason) is > 0 and long count)
                        json.WriteNumber(reason.Key(), count);
                }
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (_lastReload() is { } reload)
            {
                json.WriteStartObject("reload");
                json.WriteNumber("generation", reload.Generation);
                json.WriteBoolean("succeeded", reload.Succeeded);
                json.WriteString("message", reload.Message);
                json.WriteString("at", reload.At);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return buffer.ToArray();
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
