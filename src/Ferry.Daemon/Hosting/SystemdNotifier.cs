using System.Net.Sockets;
using System.Text;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET per state change
/// (READY=1, RELOADING=1, STOPPING=1, STATUS=...). Does nothing outside systemd.
/// </summary>
internal sealed class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _target;

    private const string SocketVariable = "NOTIFY_SOCKET";

    /// <summary>True when this process runs as a systemd service that expects notifications.</summary>
    public static bool IsPresent => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SocketVariable));

    public SystemdNotifier()
    {
        string? path = Environment.GetEnvironmentVariable(SocketVariable);
        if (string.IsNullOrEmpty(path))
            return;
        // A leading '@' names a Linux abstract socket, which the kernel spells with a NUL.
        _target = new UnixDomainSocketEndPoint(path[0] == '@' ? "\0" + path[1..] : path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public void Notify(string state)
    {
        if (_socket is null)
            return;
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), _target!);
        }
        catch (SocketException)
        {
            // systemd gone or the socket removed: nothing useful to do, the service runs on.
        }
    }

    /// <summary>
    /// Keeps "systemctl status" current: STATUS= with the live connection counts, every
    /// few seconds until <paramref name="stopping"/> fires. Nothing outside systemd.
    /// </summary>
    public async Task ReportStatusAsync(Func<string> status, TimeSpan every, CancellationToken stopping)
    {
        if (_socket is null)
            return;
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
                Notify("STATUS=" + status());
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose() => _socket?.Dispose();
}
