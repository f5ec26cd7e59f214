using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Ferry.Completion;
using Ferry.Platform.Linux;

namespace Ferry.Client;

/// <summary>
/// <c>ferry bench ARGS...</c>. The load generator is a program of its own, ferry-bench,
/// installed next to ferry, so that the nc-like ferry carries none of its weight (HdrHistogram,
/// Spectre.Console, three socket engines). This runs it with ferry's stdin, stdout and stderr
/// and the arguments untouched, passes SIGINT and SIGTERM on to it, and exits with its exit
/// code. Without ferry-bench it says so in one line and exits 1.
/// </summary>
internal static class BenchForwarder
{
    public const string Subcommand = "bench";
    public const string Usage = "Usage: ferry bench HOST PORT [options]   (runs ferry-bench)";
    public const string HelpCommand = "ferry bench --help";

    private const string Executable = "ferry-bench";

    // ferry-bench reads it (BenchProgramName) and then names itself "ferry bench" in its messages.
    private const string ViaFerryVariable = "FERRY_BENCH_VIA_FERRY";


    /// <summary>
    /// The entry in ferry's own help. <c>ferry bench ...</c> never reaches the parser (Program
    /// forwards it first), so the command takes nothing.
    /// </summary>
    public static Command CreateListing() =>
        new(Subcommand, "Load generator: runs ferry-bench (installed next to ferry) with the same arguments; see 'ferry bench --help'");

    /// <summary>
    /// ferry-bench's command tree, for ferry's completion scripts (<c>ferry-bench --completion tree</c>),
    /// or null when ferry-bench is missing or fails: then <c>ferry bench</c> completes no options.
    /// </summary>
    public static CompletionCommand? CompletionTree()
    {
        var start = new ProcessStartInfo(ExecutablePath) { UseShellExecute = false, RedirectStandardOutput = true };
        start.ArgumentList.Add(CompletionScriptOption.Name);
        start.ArgumentList.Add("tree");
        try
        {
            using Process child = Process.Start(start)!;
            string text = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            return child.ExitCode == 0 ? TreeText.Read(text) : null;
        }
        catch (Win32Exception)
        {
            return null;
        }
    }

    private static string ExecutablePath => Path.Combine(AppContext.BaseDirectory, Executable);

    public static int Run(IReadOnlyList<string> args)
    {
        string path = ExecutablePath;
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"ferry: bench: {path} is missing (ferry bench runs ferry-bench, which is installed next to ferry)");
            return ExitCodes.Failure;
        }

        var start = new ProcessStartInfo(path) { UseShellExecute = false };
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        start.Environment[ViaFerryVariable] = "1";

        using var child = new Process { StartInfo = start };
        var relay = new SignalRelay();
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => relay.Forward(context, SignalNumber.Interrupt));
        using PosixSignalRegistration terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => relay.Forward(context, SignalNumber.Terminate));
        try
        {
            child.Start();
        }
        catch (Win32Exception exception)
        {
            Console.Error.WriteLine($"ferry: bench: cannot run {path}: {exception.Message}");
            return ExitCodes.Failure;
        }
        relay.Started(child.Id);
        child.WaitForExit();
        // A child ended by a signal reads as 128 + its number, as in a shell.
        return child.ExitCode;
    }

    /// <summary>
    /// Passes ferry's SIGINT and SIGTERM to ferry-bench instead of dying. At a terminal, Ctrl-C
    /// reaches both processes, so ferry-bench gets SIGINT twice; its second makes it stop
    /// without its own clean-up, which ends the same way (exit 130, no report).
    /// </summary>
    private sealed class SignalRelay
    {
        private readonly Lock _gate = new();
        private int _pid;
        private int _early;

        public void Forward(PosixSignalContext context, int signal)
        {
            context.Cancel = true;
            lock (_gate)
            {
                if (_pid > 0)
                    ProcessCalls.Kill(_pid, signal);
                else
                    _early = signal;
            }
        }

        /// <summary>From now on signals go to <paramref name="pid"/>; one that came while it was starting goes now.</summary>
        public void Started(int pid)
        {
            lock (_gate)
            {
                _pid = pid;
                if (_early != 0)
                    ProcessCalls.Kill(pid, _early);
            }
        }
    }
}
