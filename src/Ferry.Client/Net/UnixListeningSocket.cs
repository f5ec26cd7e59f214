using System.Net.Sockets;
using Ferry.Platform.Net;

namespace Ferry.Client.Net;

/// <summary>Creates the listening Unix-domain stream socket of <c>ferry listen -U</c>.</summary>
internal static class UnixListeningSocket
{
    /// <summary>
    /// Binds and listens. A socket file already at the path is replaced only when it is stale
    /// (a connection to it is refused: its program has gone, as after a kill -9); one that
    /// answers is someone else's, and anything that is not a socket is never removed.
    /// Failures become <see cref="CommandFailedException"/> ("cannot listen on PATH: ...").
    /// </summary>
    public static StreamListener Open(UnixSocketAddress address, int backlog)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            try
            {
                socket.Bind(address.EndPoint);
            }
            catch (SocketException exception) when (exception.SocketErrorCode == SocketError.AddressAlreadyInUse
                && address.FilePath is string path)
            {
                RemoveStaleSocket(address, path);
                socket.Bind(address.EndPoint);
            }
            socket.Listen(backlog);
        }
        catch (SocketException exception)
        {
            socket.Dispose();
            throw CannotListen(address, Describe(address, exception));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new StreamListener(socket, address.Text, address.FilePath);
    }

    private static void RemoveStaleSocket(UnixSocketAddress address, string path)
    {
        if (SocketFiles.ClearStale(path) is { } problem)
            throw CannotListen(address, problem);
    }

    private static string Describe(UnixSocketAddress address, SocketException exception)
    {
        // The runtime reports a missing directory as "address not available" and a path
        // through a non-directory as an unknown error: look at the directory instead.
        if (exception.SocketErrorCode != SocketError.AccessDenied && address.FilePath is string path
            && SocketFiles.DirectoryProblem(path) is { } problem)
            return problem;
        return SocketErrorText.Describe(exception);
    }

    private static CommandFailedException CannotListen(UnixSocketAddress address, string problem) =>
        new($"cannot listen on {address}: {problem}");
}
