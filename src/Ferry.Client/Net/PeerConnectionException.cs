using System.Net.Sockets;

namespace Ferry.Client.Net;

/// <summary>
/// The connection failed, or ended in a way that is not a clean close: a reset, a TLS alert,
/// a TLS stream cut off without close_notify, a UDP peer's port found closed. The message is
/// the cause, phrased for the user but without naming the connection, which the command adds
/// ("connection to HOST port PORT: ..."); <see cref="Cause"/> is the socket error, if one was.
/// </summary>
internal sealed class PeerConnectionException(string problem, SocketError? cause = null) : Exception(problem)
{
    public SocketError? Cause { get; } = cause;
}
