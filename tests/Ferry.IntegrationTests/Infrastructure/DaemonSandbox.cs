using System.Diagnostics;
using System.Globalization;

namespace Ferry.IntegrationTests.Infrastructure;

/// <summary>
/// A temporary directory for one daemon test (pid file, logs, config) that stops any
/// daemon whose pid file is in it when the test ends, first with "ferryd stop", then by PID.
/// </summary>
internal sealed class DaemonSandbox : IAsyncDisposable
{
    private readonly List<int> _started = [];

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("ferry-daemon-").FullName;

    public string PidFile => Path.Combine(Directory, "run", "ferryd.pid");

    public string LogFile => Path.Combine(Directory, "logs", "ferryd.log");

    public string ConfigFile => Path.Combine(Directory, "ferryd.json");

    public Task<ToolRun.Result> FerrydAsync(params string[] args) => ToolRun.RunAsync(Binaries.Ferryd, args, timeout: TimeSpan.FromSeconds(90));

    /// <summary>"ferryd start" with this sandbox's pid and log files, remembering the daemon's pid.</summary>
    public async Task<ToolRun.Result> StartAsync(params string[] args)
    {
        var result = await FerrydAsync(["start", "--pid-file", PidFile, "--log-file", LogFile, .. args]);
        if (result.ExitCode == 0)
            _started.Add(DaemonPid());
        return result;
    }

    public int DaemonPid() => int.Parse(File.ReadAllText(PidFile).Trim(), CultureInfo.InvariantCulture);

    public void WriteConfig(string json) => File.WriteAllText(ConfigFile, json);

    public static bool IsAlive(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);

    public string ReadLog()
    {
        using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }

    public async ValueTask DisposeAsync()
    {
        if (_started.Any(IsAlive))
            await FerrydAsync("stop", "--pid-file", PidFile, "--timeout", "5");
        foreach (int pid in _started.Where(IsAlive))
        {
            try
            {
                Signals.Send(pid, Signals.SigKill);
            }
            catch (InvalidOperationException)
            {
            }
        }
        var clock = Stopwatch.StartNew();
        while (_started.Any(IsAlive) && clock.Elapsed < TimeSpan.FromSeconds(5))
            await Task.Delay(50);
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
