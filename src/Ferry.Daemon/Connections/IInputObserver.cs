using System.Buffers;

namespace Ferry.Daemon.Connections;

/// <summary>Something that wants to see every byte a service is handed, once, in order (the Debug "client says" log).</summary>
internal interface IInputObserver
{
    /// <summary>Bytes the service is seeing for the first time.</summary>
    void Observe(ReadOnlySequence<byte> received);

    /// <summary>The service is done with its input: whatever is held (a last line without '\n') goes out now.</summary>
    void Flush();
}
