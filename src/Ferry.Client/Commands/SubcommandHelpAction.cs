using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Ferry.Client.Commands;

/// <summary>
/// Help for subcommands. System.CommandLine's default help for <c>ferry listen</c> shows the
/// root's HOST and PORT in its usage line and argument list, although listen takes neither,
/// and its help builder cannot be customised from outside. Subcommands therefore get this
/// plainer help built from their own symbols; the root keeps the default.
/// </summary>
internal sealed class SubcommandHelpAction(CommandLineAction defaultHelp) : SynchronousCommandLineAction
{
    // Like the default help, works even when required arguments are missing.
    public override bool ClearsParseErrors => true;

    /// <summary>Replaces the action of the root's (recursive) help option.</summary>
    public static void Install(RootCommand root)
    {
        HelpOption help = root.Options.OfType<HelpOption>().Single();
        help.Action = new SubcommandHelpAction(help.Action ?? new HelpAction());
    }

    public override int Invoke(ParseResult parseResult)
    {
        Command command = parseResult.CommandResult.Command;
        if (command is RootCommand)
            return defaultHelp is SynchronousCommandLineAction synchronous ? synchronous.Invoke(parseResult) : ExitCodes.Success;

        TextWriter output = parseResult.InvocationConfiguration.Output;
        output.WriteLine("Description:");
        output.WriteLine($"  {command.Description}");
        output.WriteLine();
        output.WriteLine("Usage:");
        string arguments = string.Concat(command.Arguments.Select(argument => $" <{ArgumentLabel(argument)}>"));
        output.WriteLine($"  ferry {command.Name}{arguments} [options]");

        WriteSection(output, "Arguments:", command.Arguments.Select(argument => ($"<{ArgumentLabel(argument)}>", argument.Description)));
        IEnumerable<Option> options = command.Options.Concat(parseResult.RootCommandResult.Command.Options.Where(option => option.Recursive));
        WriteSection(output, "Options:", options.Where(option => !option.Hidden).Select(option => (OptionLabel(option), option.Description)));
        return ExitCodes.Success;
    }

    private static void WriteSection(TextWriter output, string title, IEnumerable<(string Label, string? Description)> rows)
    {
        var list = rows.ToList();
        if (list.Count == 0)
            return;
        int width = list.Max(row => row.Label.Length);
        output.WriteLine();
        output.WriteLine(title);
        foreach ((string label, string? description) in list)
            output.WriteLine($"  {label.PadRight(width)}  {description}".TrimEnd());
    }

    private static string ArgumentLabel(Argument argument) => argument.HelpName ?? argument.Name;

    // Windows-style "/?" aliases are noise on Linux; the default help hides them too. An option
    // that takes a value shows its name for it, as the default help does ("-U, --unix <PATH>").
    private static string OptionLabel(Option option) =>
        string.Join(", ", option.Aliases.Append(option.Name).Where(alias => !alias.StartsWith('/')).OrderBy(alias => alias.Length).ThenBy(alias => alias, StringComparer.Ordinal))
        + (option.HelpName is string value && option.Arity.MaximumNumberOfValues > 0 ? $" <{value}>" : string.Empty);
}
