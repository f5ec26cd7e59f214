using System.CommandLine;
using Ferry.Bench;
using Ferry.Client;
using Ferry.Client.Commands;
using Ferry.Completion;

BenchProgramName name = BenchProgramName.FromEnvironment();
using var signals = new TerminationSignals();

var bench = new BenchCommand(name);
RootCommand root = bench.CreateRoot();
CompletionScriptOption.AddTo(root, "ferry-bench", () => CompletionTree.From(root, new Dictionary<string, ValueHint>
{
    ["--unix"] = new(ValueKind.File),
}));

// Response files are off, as in ferry: "@" has no business in these arguments.
ParseResult parse = root.Parse(
    LeadingBracketArgument.Protect(args), new ParserConfiguration { ResponseFileTokenReplacer = null });
if (parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
{
    // Our own terse report (exit 2) instead of System.CommandLine's errors plus help (exit 1).
    bench.WriteUsageError(Console.Error, parse);
    return ExitCodes.Usage;
}

return await CommandInvocation.InvokeAsync(parse, signals, name.MessagePrefix);
