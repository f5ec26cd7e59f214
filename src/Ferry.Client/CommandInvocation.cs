using System.CommandLine;

namespace Ferry.Client;

/// <summary>
/// Runs a parsed command line the way ferry's programs end: one line on stderr for any failure
/// (<c>PROGRAM: message</c>), never a stack trace, and the conventional exit code for a signal.
/// Shared with ferry-bench.
/// </summary>
internal static class CommandInvocation
{
    public static async Task<int> InvokeAsync(ParseResult parse, TerminationSignals signals, string program)
    {
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
            await Console.Error.WriteLineAsync($"{program}: {failure.Message}");
            return failure.ExitCode;
        }
        catch (Exception unexpected)
        {
            // A bug or an error we did not foresee: still one line, so scripts reading stderr
            // are not handed a stack trace.
            await Console.Error.WriteLineAsync($"{program}: {unexpected.GetType().Name}: {unexpected.Message}");
            return ExitCodes.Failure;
        }
    }
}
