using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>
/// The listening socket of <c>ferry listen</c>, TCP or Unix-domain: what to call it on stderr,
/// and the socket file to remove when it closes, so the file exists exactly while ferry
/// accepts on it.
/// </summary>
internal sealed class StreamListener(Socket socket, string name, string? socketFile) : IDisposable
{
    private string? _socketFile = socketFile;

    public Socket Socket { get; } = socket;

    /// <summary>ADDR:PORT with the real port, or the Unix socket's path or @name.</summary>
    public string Name { get; } = name;

    public void Dispose()
    {
        Socket.Dispose();
        if (Interlocked.Exchange(ref _socketFile, null) is string path)
            Ferry.Platform.Net.SocketFiles.Remove(path);
    }
}
