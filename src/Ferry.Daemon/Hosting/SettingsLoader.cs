using System.Globalization;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Logging;
using Microsoft.Extensions.Configuration;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// Merges settings in the usual .NET order: the JSON config file, then FERRY_* environment
/// variables (FERRY_Logging__Level=debug), then command-line options. Listeners given on the
/// command line replace the file's listeners rather than adding to them, so a quick
/// "ferryd --config f.json --listen 0" never also binds the file's ports.
/// Every key is documented in docs/configuration.md.
/// </summary>
internal static class SettingsLoader
{
    public const string EnvironmentPrefix = "FERRY_";

    /// <summary>What the command line said; nulls mean "not given".</summary>
    public sealed record CommandLineValues(
        string? ConfigFile,
        IReadOnlyList<ListenerSpec> Listeners,
        string? LogLevel,
        string? LogFile,
        string? LogDirectory,
        string? ShutdownTimeout,
        string? PidFile);

    public static ServerSettings Load(CommandLineValues given)
    {
        // Absolute from here on: the values are kept for reloads, which a daemon does after
        // its chdir("/"), and must still name the same files then.
        given = given with
        {
            ConfigFile = Absolute(given.ConfigFile),
            LogFile = Absolute(given.LogFile),
            LogDirectory = Absolute(given.LogDirectory),
            PidFile = Absolute(given.PidFile),
        };
        var configuration = Build(given);
        string baseDirectory = given.ConfigFile is null
            ? Directory.GetCurrentDirectory()
            : Path.GetDirectoryName(given.ConfigFile)!;

        var listeners = given.Listeners.Count > 0 ? given.Listeners : ReadListeners(configuration);
        if (listeners.Count == 0)
            throw new UsageException(given.ConfigFile is null
                ? "nothing to serve: give a PORT or at least one --listen"
                : $"nothing to serve: {given.ConfigFile} has no Listeners and no --listen was given");

        string levelText = configuration["Logging:Level"] ?? "info";
        if (!LogLevelNames.TryParse(levelText, out var level))
            throw Invalid("Logging:Level", levelText, $"unknown log level (use {string.Join(", ", LogLevelNames.All)})");

        string? logFile = Resolve(baseDirectory, configuration["Logging:File"]);
        string? logDir = Resolve(baseDirectory, configuration["Logging:Directory"]);
        var logging = (logFile, logDir) switch
        {
            (not null, not null) => throw new UsageException("--log-file and --log-dir (Logging:File and Logging:Directory) exclude each other"),
            (not null, null) => new LogSettings(level, LogTargetKind.File, logFile),
            (null, not null) => new LogSettings(level, LogTargetKind.FilePerLevel, logDir),
            _ => LogSettings.ConsoleAt(level),
        };

        string timeoutText = configuration["ShutdownTimeout"] ?? "5";
        if (!TryParseShutdownTimeout(timeoutText, out var shutdownTimeout))
            throw Invalid("ShutdownTimeout", timeoutText, ShutdownTimeoutRule);

        return new ServerSettings(listeners, logging, shutdownTimeout)
        {
            PidFile = Resolve(baseDirectory, configuration["PidFile"]),
            ConfigFile = given.ConfigFile,
            Source = given,
        };
    }

    private static IConfigurationRoot Build(CommandLineValues given)
    {
        var builder = new ConfigurationBuilder();
        if (given.ConfigFile is not null)
            builder.AddJsonFile(given.ConfigFile, optional: false, reloadOnChange: false);
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        builder.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:Level"] = given.LogLevel,
            ["Logging:File"] = given.LogFile,
            ["Logging:Directory"] = given.LogDirectory,
            ["ShutdownTimeout"] = given.ShutdownTimeout,
            ["PidFile"] = given.PidFile,
        }.Where(pair => pair.Value is not null));
        try
        {
            return builder.Build();
        }
        catch (FileNotFoundException)
        {
            throw new ConfigException($"cannot read config file {given.ConfigFile}: no such file");
        }
        catch (UnauthorizedAccessException)
        {
            throw new ConfigException($"cannot read config file {given.ConfigFile}: permission denied");
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or System.Text.Json.JsonException)
        {
            // The JSON parser's message names the line and position of the mistake.
            var innermost = ex;
            while (innermost.InnerException is not null)
                innermost = innermost.InnerException;
            string detail = innermost.Message.ReplaceLineEndings(" ");
            throw new ConfigException($"config file {given.ConfigFile}: not valid JSON: {detail}");
        }
    }

    /// <summary>Listeners:NAME:{Endpoint, Service, Options:{...}}; the name is the section key.</summary>
    private static List<ListenerSpec> ReadListeners(IConfiguration configuration)
    {
        var listeners = new List<ListenerSpec>();
        foreach (var section in configuration.GetSection("Listeners").GetChildren())
        {
            string key = $"Listeners:{section.Key}";
            string? endpoint = section["Endpoint"];
            if (string.IsNullOrWhiteSpace(endpoint))
                throw Invalid($"{key}:Endpoint", "", "missing: give [ADDR:]PORT");
            string service = section["Service"] ?? ListenerSpec.DefaultService;
            if (!ListenerSpec.TryParse($"{endpoint}={service}", out var spec, out string error))
                throw Invalid(key, $"{endpoint}={service}", error);
            var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var option in section.GetSection("Options").GetChildren())
                options[option.Key] = option.Value ?? "";
            listeners.Add(spec! with { Name = section.Key, Options = options });
        }
        return listeners;
    }

    public const string ShutdownTimeoutRule = "not a number of seconds from 0 to 3600";

    public static bool TryParseShutdownTimeout(string text, out TimeSpan timeout)
    {
        bool valid = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
            && !double.IsNaN(seconds) && seconds is >= 0 and <= 3600;
        timeout = valid ? TimeSpan.FromSeconds(seconds) : default;
        return valid;
    }

    private static string? Absolute(string? path) => path is null ? null : Path.GetFullPath(path);

    private static string? Resolve(string baseDirectory, string? path) =>
        string.IsNullOrWhiteSpace(path) ? null : Path.GetFullPath(path, baseDirectory);

    private static ConfigException Invalid(string key, string value, string problem) =>
        new($"config key {key} = '{value}': {problem}");
}
