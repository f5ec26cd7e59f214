using System.Text;

namespace Ferry.Completion;

/// <summary>
/// A completion tree as lines of tab-separated fields, so that one program can take in
/// another's: ferry's scripts complete <c>ferry bench</c> from the tree ferry-bench prints
/// (<c>ferry-bench --completion tree</c>), as ferry forwards <c>bench</c> to it.
/// <code>
/// command PATH DESCRIPTION
/// option  PATH NAMES KIND CHOICES DATAGRAM-CHOICES DESCRIPTION
/// </code>
/// PATH and the lists are space-separated; a command's line comes before its options and its subcommands.
/// </summary>
internal static class TreeText
{
    public static string Write(CompletionCommand root)
    {
        var text = new StringBuilder();
        foreach ((string path, CompletionCommand command) in CommandPaths.All(root))
        {
            text.Append($"command\t{path}\t{Flat(command.Description)}\n");
            foreach (CompletionOption option in command.Options)
            {
                text.Append($"option\t{path}\t{string.Join(' ', option.Names)}\t{option.Kind}\t{string.Join(' ', option.Choices)}\t"
                    + $"{string.Join(' ', option.DatagramChoices)}\t{Flat(option.Description)}\n");
            }
        }
        return text.ToString();
    }

    /// <summary>The tree <see cref="Write"/> wrote, or null when <paramref name="text"/> is not one.</summary>
    public static CompletionCommand? Read(string text)
    {
        var commands = new List<(string Path, string Description, List<CompletionOption> Options)>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] fields = line.Split('\t');
            if (fields is ["command", string path, string description])
            {
                commands.Add((path, description, []));
            }
            else if (fields is ["option", string optionPath, string names, string kind, string choices, string datagram, string about]
                && commands.FindLast(command => command.Path == optionPath) is { Path: not null } owner
                && Enum.TryParse(kind, out ValueKind valueKind))
            {
                owner.Options.Add(new CompletionOption(Words(names), about, valueKind, Words(choices), Words(datagram)));
            }
            else
            {
                return null;
            }
        }
        return commands.Count == 0 ? null : Build(commands[0].Path, commands);
    }

    private static CompletionCommand Build(string path, List<(string Path, string Description, List<CompletionOption> Options)> commands)
    {
        var (_, description, options) = commands.Find(command => command.Path == path);
        var subcommands = commands
            .Where(command => command.Path.StartsWith(path + " ", StringComparison.Ordinal) && !command.Path[(path.Length + 1)..].Contains(' '))
            .Select(command => Build(command.Path, commands))
            .ToList();
        return new CompletionCommand(path[(path.LastIndexOf(' ') + 1)..], description, options, subcommands);
    }

    private static string[] Words(string list) => list.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string Flat(string text) => text.ReplaceLineEndings(" ").Replace('\t', ' ');
}
