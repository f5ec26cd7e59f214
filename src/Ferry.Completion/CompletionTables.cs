using System.Text;

namespace Ferry.Completion;

/// <summary>
/// The tables the bash and zsh scripts look the words typed so far up in, one row per command
/// path (or per "path option" key): its subcommands, its options, the options that take a value,
/// each such option's kind, its choices, and its choices on a datagram listener. One walk of the
/// command tree serves both shells; each writes a row, and a subcommand or option, its own way.
/// </summary>
/// <param name="Subcommands">Rows of the subcommands each command takes.</param>
/// <param name="Options">Rows of the options each command takes.</param>
/// <param name="Valued">Rows of the options that take a value, space-separated.</param>
/// <param name="Kinds">Rows of each valued option's kind (what its value is: a file, a level...).</param>
/// <param name="Choices">Rows of each valued option's choices, space-separated.</param>
/// <param name="DatagramChoices">Rows of each valued option's choices on a datagram listener.</param>
internal sealed record CompletionTables(
    string Subcommands, string Options, string Valued, string Kinds, string Choices, string DatagramChoices)
{
    /// <param name="row">A table row from its key (not yet quoted) and its value (quoted as it must be).</param>
    /// <param name="item">A subcommand or option name as the shell lists it, from the name and its description.</param>
    /// <param name="itemSeparator">Between the subcommands, or the options, of one row.</param>
    public static CompletionTables Build(CompletionCommand root, Func<string, string, string> row, Func<string, string, string> item,
        char itemSeparator)
    {
        var subcommands = new StringBuilder();
        var options = new StringBuilder();
        var valued = new StringBuilder();
        var kinds = new StringBuilder();
        var choices = new StringBuilder();
        var datagramChoices = new StringBuilder();
        foreach ((string path, CompletionCommand command) in CommandPaths.All(root))
        {
            subcommands.Append(row(path, List(command.Subcommands.Select(sub => item(sub.Name, sub.Description)), itemSeparator)));
            options.Append(row(path, List(command.Options.SelectMany(option => option.Names.Select(name => item(name, option.Description))), itemSeparator)));
            valued.Append(row(path, List(command.Options.Where(option => option.TakesValue).SelectMany(option => option.Names), ' ')));
            foreach (CompletionOption option in command.Options.Where(option => option.TakesValue))
            {
                foreach (string name in option.Names)
                {
                    string key = $"{path} {name}";
                    kinds.Append(row(key, option.Kind.ToString().ToLowerInvariant()));
                    if (option.Choices.Count > 0)
                        choices.Append(row(key, List(option.Choices, ' ')));
                    if (option.DatagramChoices.Count > 0)
                        datagramChoices.Append(row(key, List(option.DatagramChoices, ' ')));
                }
            }
        }
        return new(subcommands.ToString(), options.ToString(), valued.ToString(), kinds.ToString(), choices.ToString(),
            datagramChoices.ToString());
    }

    private static string List(IEnumerable<string> words, char separator) => ShellQuoting.Posix(string.Join(separator, words));
}
