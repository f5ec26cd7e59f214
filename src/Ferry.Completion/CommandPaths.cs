namespace Ferry.Completion;

/// <summary>
/// Every command of a tree with its path ("ferryd", "ferryd start"): the key the generated
/// scripts use to look up what may follow, once they have walked the words typed so far.
/// </summary>
internal static class CommandPaths
{
    public static IEnumerable<(string Path, CompletionCommand Command)> All(CompletionCommand root)
    {
        var pending = new Queue<(string, CompletionCommand)>();
        pending.Enqueue((root.Name, root));
        while (pending.Count > 0)
        {
            (string path, CompletionCommand command) = pending.Dequeue();
            yield return (path, command);
            foreach (CompletionCommand sub in command.Subcommands)
                pending.Enqueue(($"{path} {sub.Name}", sub));
        }
    }

    /// <summary>A shell function name made from a program name (ferry-bench: ferry_bench).</summary>
    public static string Identifier(string program) =>
        new([.. program.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')]);
}
