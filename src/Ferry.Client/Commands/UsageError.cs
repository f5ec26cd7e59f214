using System.CommandLine;
using System.CommandLine.Parsing;

namespace Ferry.Client.Commands;

/// <summary>
/// Reports a malformed command line in ferry's own terse form instead of System.CommandLine's
/// error list plus full help: the first problem, the usage line, and where to find more.
/// </summary>
internal static class UsageError
{
    /// <param name="program">The name the first line starts with: <c>ferry</c>, or ferry-bench's own.</param>
    public static void Write(TextWriter error, ParseResult parse, string usage, string helpCommand, string program)
    {
        error.WriteLine($"{program}: {Describe(parse)}");
        error.WriteLine(usage);
        error.WriteLine($"Try '{helpCommand}' for more.");
    }

    /// <summary>One line naming the first thing wrong, without a trailing period.</summary>
    public static string Describe(ParseResult parse)
    {
        if (parse.UnmatchedTokens.Count > 0)
        {
            string token = parse.UnmatchedTokens[0];
            return token.Length > 1 && token.StartsWith('-')
                ? $"unknown option '{token}'"
                : $"unexpected argument '{token}'";
        }

        // Arguments the parser itself requires; a command whose arguments depend on its options
        // (ferry's HOST PORT, not needed with -U) reports missing ones from its own validator.
        string[] missing = parse.CommandResult.Command.Arguments
            .Where(argument => argument.Arity.MinimumNumberOfValues > 0 && parse.GetResult(argument) is not { Tokens.Count: > 0 })
            .Select(argument => argument.Name)
            .ToArray();
        if (missing.Length > 0)
            return $"missing {string.Join(" and ", missing)}";

        ParseError first = parse.Errors[0];
        if (first.SymbolResult is OptionResult { Tokens.Count: 0 } option)
            return $"option '{option.Option.Name}' needs a value";
        return first.Message.TrimEnd('.');
    }
}
