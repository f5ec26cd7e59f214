using System.Net.Sockets;
using Ferry.Platform.Linux;
using Microsoft.AspNetCore.Connections;

namespace Ferry.Daemon.Transport;

/// <summary>What a failed recv or send means for the connection, in the words of the runtime's own sockets.</summary>
internal static class SocketFailure
{
    public static IOException For(int errno, string operation) => errno switch
    {
        Errno.ConnectionReset or Errno.BrokenPipe => new ConnectionResetException(
            $"{operation}: connection reset by peer", new SocketException((int)SocketError.ConnectionReset)),
        _ => new IOException($"{operation}: {Errno.Describe(errno)}"),
    };
}
