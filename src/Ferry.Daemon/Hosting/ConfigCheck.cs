using Ferry.Daemon.Services;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Daemon.Hosting;

/// <summary>"ferryd check-config": validate everything a start would, bind nothing, print the result.</summary>
internal static class ConfigCheck
{
    public static async Task<int> RunAsync(ServerSettings settings, TextWriter stdout)
    {
        foreach (var listener in settings.Listeners)
        {
            // Every key was checked when the settings were read; creating the service also opens
            // what it needs (a sink's file), exactly as a real start does.
            var service = ServiceCatalog.Create(new ServiceContext(listener, TimeProvider.System, NullLoggerFactory.Instance));
            if (service is IAsyncDisposable disposable)
                await disposable.DisposeAsync();
        }
        stdout.WriteLine($"config ok{(settings.ConfigFile is null ? "" : ": " + settings.ConfigFile)}");
        foreach (var spec in settings.Listeners.Select(l => l.Spec))
        {
            string options = string.Concat(spec.Options.Select(o => $",{o.Key}={o.Value}"));
            stdout.WriteLine($"listener {spec.Name ?? "-"} {spec.FormatAddress()}={spec.Service}{options}");
        }
        string target = settings.Logging.Target switch
        {
            Logging.LogTargetKind.File => "file " + settings.Logging.Path,
            Logging.LogTargetKind.FilePerLevel => "directory " + settings.Logging.Path,
            _ => "console",
        };
        // Said only where it shows: at warning and above no connection line is written.
        string openLines = settings.Logging.OpenLines && settings.Logging.MinimumLevel <= Microsoft.Extensions.Logging.LogLevel.Information
            ? ", open lines at info" : "";
        stdout.WriteLine($"logging {Logging.LogLevelNames.Name(settings.Logging.MinimumLevel)} to {target}{openLines}");
        stdout.WriteLine($"pid file {settings.PidFile ?? PidFile.DefaultPath()}");
        stdout.WriteLine($"shutdown timeout {settings.ShutdownTimeout.TotalSeconds} s");
        stdout.WriteLine(settings.Metrics is { } metrics ? $"metrics at http://{new Ferry.Protocol.HostPort(metrics.Host ?? "*", metrics.Port)}/metrics" : "metrics off");
        return ExitCodes.Ok;
    }
}
