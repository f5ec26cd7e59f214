namespace Ferry.Protocol;

/// <summary>
/// What a line service does after telling a client its line was longer than the maximum.
/// Either way the stream stays in sync: the framer never hands out part of an over-long line.
/// </summary>
public enum OverlongLinePolicy
{
    /// <summary>Throw away the rest of that line and carry on with the next one (the default).</summary>
    Discard,

    /// <summary>Close the connection after the error line.</summary>
    Close,
}
