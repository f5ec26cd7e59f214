using System.Net.Sockets;
using Ferry.Platform.Linux;

namespace Ferry.Platform.Net;

/// <summary>
/// Unix-domain socket files as servers (ferryd's unix: listeners, ferry listen -U) find and leave
/// them: one at the path is replaced only when stale (a connection to it is refused: its server
/// has gone, as after a kill -9); one that answers is someone else's, and anything that is not a
/// socket is never removed.
/// </summary>
public static class SocketFiles
{
    /// <summary>Makes the path free for a bind: null when it is, else why not ("address already in use").</summary>
    public static string? ClearStale(string path)
    {
        // Not following a symbolic link: the link would be removed, not what it points to.
        int errno = PathCalls.IsSocket(path, followSymlink: false, out bool isSocket);
        if (errno == Errno.NoSuchFile)
            return null;
        if (errno != 0)
            return Errno.Describe(errno);
        if (!isSocket)
            return "the path exists and is not a socket";
        if (Probe(path) is { } inUse)
            return inUse;
        try
        {
            File.Delete(path);
            return null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return $"cannot remove the stale socket file: {exception.Message}";
        }
    }

    /// <summary>
    /// Why a bind at <paramref name="path"/> failed when its directory is the cause (missing, not a
    /// directory, not searchable), or null: the runtime reports a missing directory as "address not
    /// available" and a path through a non-directory as an unknown error.
    /// </summary>
    public static string? DirectoryProblem(string path)
    {
        int errno = PathCalls.CheckDirectory(Path.GetDirectoryName(path) ?? string.Empty);
        return errno == 0 ? null : Errno.Describe(errno);
    }

    /// <summary>Removes the socket file a server made, at its stop; whatever else is there now is not its to remove.</summary>
    public static void Remove(string path)
    {
        try
        {
            if (PathCalls.IsSocket(path, followSymlink: false, out bool isSocket) == 0 && isSocket)
                File.Delete(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Gone already, or its directory is read-only to us now: nothing to do at a stop.
        }
    }

    /// <summary>
    /// Null when nobody listens on the socket (a connection is refused), else why it cannot be
    /// replaced: in use (a listener whose queue is full, EAGAIN as the connect does not wait, is
    /// alive all the same), or the probe's own error (permission denied).
    /// </summary>
    private static string? Probe(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return null;
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.AccessDenied)
        {
            return SocketErrorText.Describe(exception);
        }
        catch (SocketException)
        {
        }
        return SocketErrorText.Describe(SocketError.AddressAlreadyInUse);
    }
}
