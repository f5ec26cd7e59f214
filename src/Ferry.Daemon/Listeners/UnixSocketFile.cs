using System.Net.Sockets;
using System.Text;
using Ferry.Daemon.Hosting;
using Ferry.Platform.Linux;
using Ferry.Platform.Net;

namespace Ferry.Daemon.Listeners;

/// <summary>
/// Binds a <c>unix:</c> listener's socket. A socket file already at the path is probed: one a
/// live server answers on is "address in use" (exit 4), one nobody answers on was left by a
/// dead server and is replaced; anything that is not a socket is never removed. The file's mode
/// and owner are set between bind and listen, so no client can connect before they are right.
/// An <c>@NAME</c> listener is in the abstract namespace: no file, gone with the socket.
/// </summary>
internal static class UnixSocketFile
{
    /// <summary>The socket file a listener creates, or null for an abstract name.</summary>
    public static string? FileOf(ListenerSpec spec) => spec.Path!.StartsWith('@') ? null : spec.Path;

    public static Socket Bind(ListenerSettings listener)
    {
        var spec = listener.Spec;
        string path = spec.Path!;
        string? file = FileOf(spec);
        if (Encoding.UTF8.GetByteCount(path) > ListenerSpec.MaxPathBytes)
            throw Failed(spec, $"the path is longer than the kernel allows ({ListenerSpec.MaxPathBytes} bytes)");
        if (file is not null)
            ClearStaleFile(spec, file);

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(EndPointOf(spec));
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            string? directory = file is null ? null : Path.GetDirectoryName(file);
            throw Failed(spec, directory is not null && !Directory.Exists(directory)
                ? $"directory {directory} does not exist"
                : SocketErrorText.Describe(ex));
        }
        try
        {
            if (file is not null && listener.Policy.Unix is { } policy)
                SetModeAndOwner(spec, file, policy);
            socket.Listen(ListenerBinder.Backlog);
            return socket;
        }
        catch (Exception ex) when (ex is SocketException or StartupException)
        {
            socket.Dispose();
            if (file is not null)
                File.Delete(file);
            throw ex as StartupException ?? Failed(spec, SocketErrorText.Describe((SocketException)ex));
        }
    }

    /// <summary>A reload's listener on the path of one it replaces takes its socket over, with this listener's mode and owner.</summary>
    public static Socket Adopt(ListenerSettings listener, Socket socket)
    {
        if (FileOf(listener.Spec) is { } file && listener.Policy.Unix is { } policy)
            SetModeAndOwner(listener.Spec, file, policy);
        return socket;
    }

    /// <summary>Removes the socket file a listener created (at stop); one someone else put there since is theirs.</summary>
    public static void Remove(string file)
    {
        try
        {
            if (UnixSocketCalls.IsSocketFile(file) == true)
                File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone already, or its directory is read-only to us now: nothing to do at a stop.
        }
    }

    private static UnixDomainSocketEndPoint EndPointOf(ListenerSpec spec) =>
        new(spec.Path!.StartsWith('@') ? "\0" + spec.Path[1..] : spec.Path);

    private static void ClearStaleFile(ListenerSpec spec, string file)
    {
        switch (UnixSocketCalls.IsSocketFile(file))
        {
            case null:
                return;
            case false:
                throw Failed(spec, "the path exists and is not a socket (not removed)");
        }
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(file));
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // Nobody accepts on it: a server that died without removing it. Replace it.
            File.Delete(file);
            return;
        }
        catch (SocketException ex)
        {
            throw Failed(spec, $"cannot tell whether the socket file there is in use: {SocketErrorText.Describe(ex)}");
        }
        throw Failed(spec, "address already in use (a server answers on that socket file)");
    }

    private static void SetModeAndOwner(ListenerSpec spec, string file, UnixSocketPolicy policy)
    {
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(file, policy.Mode);
        if (policy.Owner is null && policy.Group is null)
            return;
        int errno = UnixSocketCalls.ChangeOwner(file, policy.Owner ?? UnixSocketCalls.Unchanged, policy.Group ?? UnixSocketCalls.Unchanged);
        if (errno != 0)
            throw Failed(spec, $"cannot give the socket file owner {policy.Owner?.ToString() ?? "-"} group {policy.Group?.ToString() ?? "-"}: {Errno.Describe(errno)}");
    }

    private static StartupException Failed(ListenerSpec spec, string why) =>
        new(ExitCodes.CannotListen, $"cannot listen on {spec.FormatAddress()} ({ListenerBinder.Label(spec)}): {why}");
}
