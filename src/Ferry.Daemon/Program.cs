using Ferry.Daemon.Hosting;

namespace Ferry.Daemon;

internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        UseInlineSocketCompletions();
        return new CommandLine(Console.Out, Console.Error).InvokeAsync(args);
    }

    /// <summary>
    /// Runs socket completions on the runtime's epoll threads instead of queueing each one to
    /// the thread pool: one thread hop less per accepted connection. The runtime reads this
    /// variable once, when its socket engine starts, so it must be set before the first socket
    /// exists: here, first.
    /// In ferryd only the accept loops use the runtime's socket engine (connections have their
    /// own epoll loops, Transport/), and admitting a peer never blocks. An operator's own setting
    /// (e.g. <c>=0</c> in the unit's environment) wins.
    /// </summary>
    private static void UseInlineSocketCompletions()
    {
        const string name = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (Environment.GetEnvironmentVariable(name) is null)
            Environment.SetEnvironmentVariable(name, "1");
    }
}
