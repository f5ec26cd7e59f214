namespace Ferry.Bench.Datagrams;

/// <summary>What a datagram a UDP sender received is (<see cref="DatagramSender.Check"/>).</summary>
internal enum DatagramEcho
{
    /// <summary>The echo of the datagram in flight: the exchange is done.</summary>
    InFlight,

    /// <summary>The echo of a datagram already counted as lost: it came after the loss timeout, and is not counted again.</summary>
    Late,

    /// <summary>Not as long as the datagrams sent: an error.</summary>
    WrongSize,

    /// <summary>The right size, but the number of no datagram in flight or lost: an error (a duplicate, another sender's, or a corrupt number).</summary>
    Stray,
}
