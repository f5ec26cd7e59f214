using Ferry.Daemon.Hosting;

namespace Ferry.Daemon;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        try
        {
            return await new CommandLine().InvokeAsync(args, settings => ServerHost.RunAsync(settings, Console.Out), Console.Error);
        }
        catch (StartupException ex)
        {
            await Console.Error.WriteLineAsync($"ferryd: {ex.Message}");
            return ex.ExitCode;
        }
    }
}
