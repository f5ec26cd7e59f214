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
    /// the thread pool: one thread hop less per receive (measured +20–30% ping-pong messages
    /// per CPU-second, see bench/RESULTS.md). The runtime reads this variable once, when its
    /// socket engine starts, so it must be set before the first socket exists: here, first.
    /// Safe because only Kestrel's transport loops run inline (they never block); services
    /// still run on the thread pool, behind the transport's pipes. An operator's own setting
    /// (e.g. <c>=0</c> in the unit's environment) wins.
    /// </summary>
    private static void UseInlineSocketCompletions()
    {
        const string name = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (Environment.GetEnvironmentVariable(name) is null)
            Environment.SetEnvironmentVariable(name, "1");
    }
}
