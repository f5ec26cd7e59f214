namespace Ferry.Daemon.Transport;

/// <summary>
/// Bytes that crossed one layer of a connection, counted by that layer where it reads and writes
/// anyway: the socket's (<see cref="SocketConnection"/>) or the decrypted stream's of a TLS session.
/// Services never count; the timeouts, the close line and the status read these.
/// </summary>
internal interface IByteCounts
{
    long BytesReceived { get; }

    long BytesSent { get; }

    /// <summary>A layer that carried nothing (a TLS session whose handshake failed).</summary>
    static IByteCounts None { get; } = new Nothing();

    private sealed class Nothing : IByteCounts
    {
        public long BytesReceived => 0;

        public long BytesSent => 0;
    }
}
