using System.CommandLine;
using Ferry.Client;
using Ferry.Client.Commands;
using Ferry.Completion;

// `ferry bench ...` is ferry-bench's command line, untouched: even --help is its own.
if (args.Length > 0 && args[0] == BenchForwarder.Subcommand)
    return BenchForwarder.Run(args[1..]);

using var signals = new TerminationSignals();

RootCommand root = new ConnectCommand().CreateRoot();
Ferry.Platform.PrintVersion.Install(root, "ferry");
Command listen = new ListenCommand().Create();
root.Subcommands.Add(listen);
Command bench = BenchForwarder.CreateListing();
root.Subcommands.Add(bench);
SubcommandHelpAction.Install(root);
// `ferry --completion bash|zsh|fish`: bench's part comes from ferry-bench, which ferry runs for it.
CompletionScriptOption.AddTo(root, "ferry", () =>
{
    CompletionCommand tree = CompletionTree.From(root, new Dictionary<string, ValueHint>
    {
        ["--unix"] = new(ValueKind.File),
        ["--ca"] = new(ValueKind.File),
        ["--cert"] = new(ValueKind.File),
        ["--key"] = new(ValueKind.File),
    });
    return BenchForwarder.CompletionTree() is CompletionCommand benchTree
        ? CompletionTree.Graft(tree, BenchForwarder.Subcommand, benchTree)
        : tree;
});

// Response files ("@file" expands to its contents) are off: "@" has no business in ferry's
// arguments, and reading a file named by an argument would only surprise.
ParseResult parse = root.Parse(
    LeadingBracketArgument.Protect(args), new ParserConfiguration { ResponseFileTokenReplacer = null });
if (parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
{
    // Our own terse report (exit 2) instead of System.CommandLine's errors plus help (exit 1).
    Command failed = parse.CommandResult.Command;
    (string usage, string help) =
        failed == listen ? (ListenCommand.Usage, ListenCommand.HelpCommand)
        : failed == bench ? (BenchForwarder.Usage, BenchForwarder.HelpCommand)
        : (ConnectCommand.Usage, ConnectCommand.HelpCommand);
    UsageError.Write(Console.Error, parse, usage, help, "ferry");
    return ExitCodes.Usage;
}

return await CommandInvocation.InvokeAsync(parse, signals, "ferry");
