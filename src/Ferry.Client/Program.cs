using System.CommandLine;
using Ferry.Client;
using Ferry.Client.Commands;

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

// Response files ("@file" expands to its contents) are off: "@" has no business in ferry's
// arguments, and reading a file named by an argument would only surprise.
ParseResult parse = root.Parse(
    LeadingBracketArgument.Protect(args), new ParserConfiguration { ResponseFileTokenReplacer = null });
if (parse.Errors.Count > 0)
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
