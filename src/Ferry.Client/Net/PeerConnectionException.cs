namespace Ferry.Client.Net;

/// <summary>
/// The connection failed, or ended in a way that is not a clean close: a reset, a TLS alert,
/// a TLS stream cut off without close_notify. The message is the cause, phrased for the user
/// but without naming the connection, which the command adds ("connection to HOST port PORT: ...").
/// </summary>
internal sealed class PeerConnectionException(string problem) : Exception(problem);
