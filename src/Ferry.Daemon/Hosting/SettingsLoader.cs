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
            Listeners = [.. given.Listeners.Select(spec => WithAbsolutePaths(spec, Directory.GetCurrentDirectory()))],
        };
        var configuration = Build(given);
        string baseDirectory = given.ConfigFile is null
            ? Directory.GetCurrentDirectory()
            : Path.GetDirectoryName(given.ConfigFile)!;

        bool fromCommandLine = given.Listeners.Count > 0;
        var listeners = WithPolicies(fromCommandLine ? given.Listeners : ReadListeners(configuration, baseDirectory), fromCommandLine);
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
            string detail = ex.GetBaseException().Message.ReplaceLineEndings(" ");
            throw new ConfigException($"config file {given.ConfigFile}: not valid JSON: {detail}");
        }
    }

    /// <summary>
    /// Listeners:NAME:{Endpoint, Service, Options:{...}}; the name is the section key.
    /// Any other key of the listener object is an option too, so listener-level keys can be
    /// written where they belong ("MaxConnections": 100, "Allow": ["10.0.0.0/8"]). A JSON array
    /// becomes the ';'-separated list the command line uses.
    /// </summary>
    private static List<ListenerSpec> ReadListeners(IConfiguration configuration, string baseDirectory)
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
            var written = section.GetChildren().Where(c => c.Key is not ("Endpoint" or "Service" or "Options"))
                .Select(c => (Path: $"{key}:{c.Key}", Option: c))
                .Concat(section.GetSection("Options").GetChildren().Select(c => (Path: $"{key}:Options:{c.Key}", Option: c)));
            foreach (var (path, option) in written)
            {
                if (!options.TryAdd(option.Key, ValueOf(option)))
                    throw Invalid(path, ValueOf(option), $"{option.Key} is given twice (in the listener and under its Options)");
            }
            listeners.Add(WithAbsolutePaths(spec! with { Name = section.Key, Options = options }, baseDirectory));
        }
        return listeners;
    }

    private static string ValueOf(IConfigurationSection option) =>
        option.Value ?? string.Join(';', option.GetChildren().Select(item => item.Value ?? ""));

    /// <summary>
    /// File options (cert, key, clientCa) made absolute: relative to the config file's
    /// directory, or to the current one on the command line; a daemon reloads after its
    /// chdir("/") and must read the same files.
    /// </summary>
    private static ListenerSpec WithAbsolutePaths(ListenerSpec spec, string baseDirectory)
    {
        if (!spec.Options.Keys.Any(ListenerPolicy.PathKeys.Contains))
            return spec;
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in spec.Options)
        {
            options[key] = ListenerPolicy.PathKeys.Contains(key) && !string.IsNullOrWhiteSpace(value)
                ? Path.GetFullPath(value.Trim(), baseDirectory)
                : value;
        }
        return spec with { Options = options };
    }

    /// <summary>
    /// Parses each listener's limits and TLS settings (reading its certificate files): the
    /// one place a bad listener-level value is caught, named as a usage error for the command
    /// line and as a config error for the file.
    /// </summary>
    private static List<ListenerSpec> WithPolicies(IEnumerable<ListenerSpec> specs, bool fromCommandLine)
    {
        var result = new List<ListenerSpec>();
        foreach (var resolved in specs)
        {
            try
            {
                result.Add(resolved with { Policy = ListenerPolicy.From(resolved) });
            }
            catch (Services.ServiceOptionException ex) when (fromCommandLine)
            {
                throw new UsageException(ex.Message);
            }
            catch (Services.ServiceOptionException ex)
            {
                throw new ConfigException($"config key Listeners:{resolved.Name}: {ex.Message}");
            }
        }
        return result;
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
