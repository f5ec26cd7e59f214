using System.CommandLine;
using System.CommandLine.Completions;

namespace Ferry.Completion;

/// <summary>What the shell may complete for an option's value.</summary>
internal enum ValueKind
{
    /// <summary>Takes no value (a flag).</summary>
    None,
    /// <summary>A value with nothing to offer (a number, a host), or one of <see cref="CompletionOption.Choices"/> when there are any.</summary>
    Text,
    File,
    Directory,
    /// <summary>
    /// ferryd's <c>[ADDR:]PORT[=SERVICE,...]</c>: after the <c>=</c>, a service name from
    /// <see cref="CompletionOption.Choices"/>, or from <see cref="CompletionOption.DatagramChoices"/> after <c>udp:</c>.
    /// </summary>
    Listener,
}

/// <summary>An option as a shell sees it: its spellings, whether a value follows, and what that value may be.</summary>
internal sealed record CompletionOption(
    IReadOnlyList<string> Names,
    string Description,
    ValueKind Kind,
    IReadOnlyList<string> Choices,
    IReadOnlyList<string> DatagramChoices)
{
    public bool TakesValue => Kind != ValueKind.None;
}

/// <summary>A command (the program itself at the root) with what may follow it.</summary>
internal sealed record CompletionCommand(
    string Name,
    string Description,
    IReadOnlyList<CompletionOption> Options,
    IReadOnlyList<CompletionCommand> Subcommands);

/// <summary>
/// What an option's value is, where its System.CommandLine definition cannot say: a file, a
/// directory, a listener. Fixed choices need no hint: they come from the option's own
/// completion sources (<see cref="Option.GetCompletions"/>), as System.CommandLine's [suggest] sees them.
/// </summary>
internal sealed record ValueHint(ValueKind Kind, IReadOnlyList<string>? Services = null, IReadOnlyList<string>? DatagramServices = null);

internal static class CompletionTree
{
    /// <summary>
    /// Walks <paramref name="root"/>: visible subcommands and options, with the recursive
    /// options of the commands above (help) at every level. <paramref name="hints"/> is keyed
    /// by an option's name ("--listen") and applies wherever an option of that name appears.
    /// </summary>
    public static CompletionCommand From(Command root, IReadOnlyDictionary<string, ValueHint>? hints = null) =>
        Walk(root, root.Name, [], hints ?? new Dictionary<string, ValueHint>());

    private static CompletionCommand Walk(Command command, string name, IReadOnlyList<Option> inherited, IReadOnlyDictionary<string, ValueHint> hints)
    {
        List<Option> options = [.. command.Options, .. inherited.Where(option => !command.Options.Contains(option))];
        List<Option> passedDown = [.. inherited, .. command.Options.Where(option => option.Recursive)];
        return new CompletionCommand(
            name,
            command.Description ?? string.Empty,
            options.Where(option => !option.Hidden).Select(option => Describe(option, hints)).ToList(),
            command.Subcommands.Where(sub => !sub.Hidden).Select(sub => Walk(sub, sub.Name, passedDown, hints)).ToList());
    }

    private static CompletionOption Describe(Option option, IReadOnlyDictionary<string, ValueHint> hints)
    {
        // "/?" and "/h" are Windows spellings; "-?" would be a glob in a shell script.
        string[] names = [.. new[] { option.Name }.Concat(option.Aliases)
            .Where(name => name.StartsWith('-') && !name.Contains('?'))
            .Distinct()
            .OrderBy(name => name.StartsWith("--", StringComparison.Ordinal) ? 0 : 1)];
        bool takesValue = option.ValueType != typeof(bool) && option.Arity.MaximumNumberOfValues > 0;
        if (!takesValue)
            return new CompletionOption(names, option.Description ?? string.Empty, ValueKind.None, [], []);
        if (hints.TryGetValue(option.Name, out ValueHint? hint))
            return new CompletionOption(names, option.Description ?? string.Empty, hint.Kind, hint.Services ?? [], hint.DatagramServices ?? []);
        string[] choices = [.. option.GetCompletions(CompletionContext.Empty).Select(item => item.Label)];
        return new CompletionOption(names, option.Description ?? string.Empty, ValueKind.Text, choices, []);
    }

    /// <summary><paramref name="root"/> with its subcommand of <paramref name="replacement"/>'s name given <paramref name="replacement"/>'s options and subcommands.</summary>
    public static CompletionCommand Graft(CompletionCommand root, string name, CompletionCommand replacement) =>
        root with
        {
            Subcommands = [.. root.Subcommands.Select(sub => sub.Name == name
                ? sub with { Options = replacement.Options, Subcommands = replacement.Subcommands }
                : sub)],
        };
}
