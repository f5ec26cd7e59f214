using Ferry.Daemon.Hosting;

namespace Ferry.Daemon;

internal static class Program
{
    public static Task<int> Main(string[] args) => new CommandLine(Console.Out, Console.Error).InvokeAsync(args);
}
