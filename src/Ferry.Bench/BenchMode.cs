namespace Ferry.Bench;

/// <summary>What load ferry-bench puts on the server.</summary>
internal enum BenchMode
{
    /// <summary>Each connection sends one message, waits for its echo, and repeats.</summary>
    PingPong,

    /// <summary>Each connection streams data as fast as it can while reading the echo back.</summary>
    Bulk,

    /// <summary>Each loop connects, sends one message, reads the echo and closes, over and over.</summary>
    Connect,

    /// <summary>Opens the connections, checks each with one echo, then holds them without traffic.</summary>
    Idle,

    /// <summary>Every connection is a member of one room on a chat listener; each line fans out to all the others.</summary>
    Chat,
}
