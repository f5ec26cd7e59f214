namespace Ferry.Daemon.Services;

/// <summary>
/// RFC 864's rotating pattern: the 95 printable ASCII characters, 72 per line, each line
/// starting one character further on, every line ended by CRLF. After 95 lines the
/// pattern repeats, so one precomputed cycle is all the service ever sends.
/// </summary>
internal static class ChargenPattern
{
    public const int LineLength = 72;
    public const int CharacterCount = 95; // ' ' (32) through '~' (126)
    public const int LineBytes = LineLength + 2;

    /// <summary>One full cycle: 95 lines, 7,030 bytes.</summary>
    public static ReadOnlyMemory<byte> Cycle { get; } = BuildCycle();

    public static byte[] Line(int index)
    {
        var line = new byte[LineBytes];
        for (int i = 0; i < LineLength; i++)
            line[i] = (byte)(' ' + (index + i) % CharacterCount);
        line[LineLength] = (byte)'\r';
        line[LineLength + 1] = (byte)'\n';
        return line;
    }

    private static byte[] BuildCycle()
    {
        var cycle = new byte[CharacterCount * LineBytes];
        for (int line = 0; line < CharacterCount; line++)
            Line(line).CopyTo(cycle, line * LineBytes);
        return cycle;
    }
}
