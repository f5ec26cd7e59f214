using System.Globalization;
using System.Net.Sockets;
using Ferry.Platform.Linux;

namespace Ferry.Client.Net;

/// <summary>Opens the outgoing connection of <c>ferry -U PATH</c>: a Unix-domain stream socket.</summary>
internal static class UnixConnector
{
    /// <summary>
    /// Connects, limited to <paramref name="timeoutSeconds"/> (a listener whose queue is full
    /// makes connect wait). Failures become <see cref="CommandFailedException"/>: a problem with
    /// the path as <c>PATH: no such file or directory</c> (or <c>not a socket</c>, <c>permission
    /// denied</c>), like an unknown host; a refusal as <c>connect to PATH: connection refused</c>.
    /// </summary>
    public static async Task<Socket> ConnectAsync(UnixSocketAddress address, double timeoutSeconds, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await socket.ConnectAsync(address.EndPoint, attempt.Token);
            return socket;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            string seconds = timeoutSeconds.ToString(CultureInfo.InvariantCulture);
            throw new CommandFailedException($"connect to {address}: timed out after {seconds} s");
        }
        catch (SocketException exception)
        {
            socket.Dispose();
            throw new CommandFailedException(Describe(address, exception));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static string Describe(UnixSocketAddress address, SocketException exception)
    {
        // The runtime reports ENOENT as "address not available" and ENOTDIR or ELOOP as an
        // unknown error; the path itself says what is wrong with it.
        if (address.FilePath is string path)
        {
            int errno = PathCalls.IsSocket(path, followSymlink: true, out bool isSocket);
            if (errno != 0)
                return $"{path}: {Errno.Describe(errno)}";
            if (!isSocket)
                return $"{path}: not a socket";
            if (exception.SocketErrorCode == SocketError.AccessDenied)
                return $"{path}: {SocketErrorText.Describe(exception)}";
        }
        // Refused: nothing listens there (a socket file left by a program that has gone).
        return $"connect to {address}: {SocketErrorText.Describe(exception)}";
    }
}
