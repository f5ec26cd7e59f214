namespace Ferry.Daemon.Logging;

/// <summary>
/// A message format that can also write its message straight to UTF-8. It is the target of the
/// formatter delegate passed to <see cref="Microsoft.Extensions.Logging.ILogger.Log{TState}"/>: any
/// logger gets the message as a string from that delegate, and ferryd's own (<see cref="LevelRouting"/>)
/// sees the delegate's target and has it write the message into the line, with no string between.
/// </summary>
internal interface IUtf8MessageFormat<TState>
{
    /// <summary>Writes the message, or returns false when <paramref name="destination"/> is too short for it.</summary>
    bool TryWrite(in TState state, Span<byte> destination, out int written);
}
