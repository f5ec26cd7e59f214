using System.Runtime.InteropServices;

namespace Ferry.Platform.Linux;

/// <summary>The signal numbers Ferry sends or handles, each named once.</summary>
public static class SignalNumber
{
    public const int Hangup = 1;
    public const int Interrupt = 2;
    public const int Kill = 9;
    public const int User1 = 10;
    public const int Terminate = 15;

    /// <summary>SIGUSR1 for <see cref="PosixSignalRegistration"/>, which names no such signal of its own.</summary>
    public const PosixSignal UserSignal1 = (PosixSignal)User1;

    private static readonly string[] Names =
        ["", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM"];

    /// <summary>The signal's name without SIG ("TERM"), or its number for the rarer ones.</summary>
    public static string Name(int signal) => signal > 0 && signal < Names.Length ? Names[signal] : signal.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
