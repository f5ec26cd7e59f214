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
            throw Failed(spec, (ex.SocketErrorCode != SocketError.AccessDenied && file is not null ? SocketFiles.DirectoryProblem(file) : null)
                ?? SocketErrorText.Describe(ex));
        }
        try
        {
            if (file is not null)
                Apply(listener, file);
            socket.Listen(ListenerBinder.Backlog);
            return socket;
        }
        catch (Exception ex) when (ex is SocketException or StartupException)
        {
            socket.Dispose();   // .NET removes the file its socket bound
            throw ex as StartupException ?? Failed(spec, SocketErrorText.Describe((SocketException)ex));
        }
    }

    /// <summary>
    /// Gives the socket file <paramref name="listener"/>'s mode and owner: between bind and listen,
    /// or when a reload's listener takes over the socket of the one it replaces (only a file ferryd
    /// made: an inherited socket's are systemd's). Never through a symbolic link someone put there.
    /// </summary>
    public static void Apply(ListenerSettings listener, string file)
    {
        if (listener.Policy.Unix is not { } policy)
            return;
        var spec = listener.Spec;
        int errno = UnixSocketCalls.ChangeMode(file, policy.Mode);
        if (errno != 0)
            throw Failed(spec, $"cannot give the socket file mode {Convert.ToString((int)policy.Mode, 8)}: {Errno.Describe(errno)}");
        if (policy.Owner is null && policy.Group is null)
            return;
        errno = UnixSocketCalls.ChangeOwner(file, policy.Owner ?? UnixSocketCalls.Unchanged, policy.Group ?? UnixSocketCalls.Unchanged);
        if (errno != 0)
            throw Failed(spec, $"cannot give the socket file owner {policy.Owner?.ToString() ?? "-"} group {policy.Group?.ToString() ?? "-"}: {Errno.Describe(errno)}");
    }

    private static UnixDomainSocketEndPoint EndPointOf(ListenerSpec spec) =>
        new(spec.Path!.StartsWith('@') ? "\0" + spec.Path[1..] : spec.Path);

    private static void ClearStaleFile(ListenerSpec spec, string file)
    {
        if (SocketFiles.ClearStale(file) is { } problem)
            throw Failed(spec, problem);
    }

    private static StartupException Failed(ListenerSpec spec, string why) =>
        new(ExitCodes.CannotListen, $"cannot listen on {spec.FormatAddress()} ({ListenerBinder.Label(spec)}): {why}");
}
