namespace Ferry.Completion;

/// <summary>Single-quoted words for the generated scripts: whatever an option's text holds, it stays one literal word.</summary>
internal static class ShellQuoting
{
    /// <summary>bash and zsh: <c>'it'\''s'</c>.</summary>
    public static string Posix(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>fish: backslash escapes inside single quotes.</summary>
    public static string Fish(string text) =>
        "'" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    /// <summary>A description as one short line: its first sentence, at most <paramref name="max"/> characters.</summary>
    public static string Summary(string description, int max = 80)
    {
        string line = description.ReplaceLineEndings(" ").Replace('\t', ' ');
        int stop = line.IndexOf(". ", StringComparison.Ordinal);
        if (stop > 0)
            line = line[..stop];
        line = line.TrimEnd('.', ' ');
        return line.Length <= max ? line : line[..(max - 1)].TrimEnd() + "…";
    }
}
