using System.CommandLine;
using Ferry.Client;
using Ferry.Client.Commands;

using var signals = new TerminationSignals();

RootCommand root = new ConnectCommand().CreateRoot();
Command listen = new ListenCommand().Create();
root.Subcommands.Add(listen);
Command bench = new BenchCommand().Create();
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
        : failed == bench ? (BenchCommand.Usage, BenchCommand.HelpCommand)
        : (ConnectCommand.Usage, ConnectCommand.HelpCommand);
    UsageError.Write(Console.Error, parse, usage, help);
    return ExitCodes.Usage;
}

var invocation = new InvocationConfiguration
{
    // Failures are reported below as one line; signals are handled by TerminationSignals so
    // the exit codes (130, 143) are ours and do not depend on a termination timeout.
    EnableDefaultExceptionHandler = false,
    ProcessTerminationTimeout = null,
};

try
{
    return await parse.InvokeAsync(invocation, signals.Token);
}
catch (Exception) when (signals.ExitCode is int signalExitCode)
{
    // Whatever the interrupted work threw on its way out, the user asked us to stop.
    return signalExitCode;
}
catch (CommandFailedException failure)
{
    await Console.Error.WriteLineAsync($"ferry: {failure.Message}");
    return failure.ExitCode;
}
catch (Exception unexpected)
{
    // A bug or an error we did not foresee: still one line, so scripts reading stderr
    // are not handed a stack trace.
    await Console.Error.WriteLineAsync($"ferry: {unexpected.GetType().Name}: {unexpected.Message}");
    return ExitCodes.Failure;
}
