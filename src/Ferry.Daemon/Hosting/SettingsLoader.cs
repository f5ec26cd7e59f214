using System.Globalization;
using System.Text.RegularExpressions;
using Ferry.Daemon.Listeners;
using Ferry.Daemon.Logging;
using Ferry.Daemon.Metrics;
using Ferry.Daemon.Services;
using Ferry.Protocol;
using Microsoft.Extensions.Configuration;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// The one step from the JSON config file, FERRY_* environment variables (FERRY_Logging__Level=debug)
/// and command-line options, in that order of precedence, to immutable, validated
/// <see cref="ServerSettings"/>. Every value is checked here and nowhere else: a bad one typed on
/// the command line is a usage error (exit 2), one from the file or the environment a config
/// error (exit 6) naming its key. Listeners given on the command line replace the file's rather
/// than adding to them, so a quick "ferryd --config f.json --listen 0" never also binds the
/// file's ports. Every key is documented in docs/configuration.md.
/// </summary>
internal static partial class SettingsLoader
{
    public const string EnvironmentPrefix = "FERRY_";

    public const string ShutdownTimeoutRule = "not a number of seconds from 0 to 3600";

    /// <summary>What the command line said, as typed; nulls mean "not given". Kept for reloads.</summary>
    public sealed record CommandLineValues(
        string? ConfigFile,
        string? Port,
        IReadOnlyList<string> Listen,
        string? LogLevel,
        string? LogFile,
        string? LogDirectory,
        string? ShutdownTimeout,
        string? PidFile,
        string? Metrics = null)
    {
        /// <summary>
        /// Where relative paths typed on the command line start: the directory ferryd was started
        /// in, remembered for reloads, which a daemon does after its chdir("/").
        /// </summary>
        public string? WorkingDirectory { get; init; }
    }

    public static ServerSettings Load(CommandLineValues given) => Load(given, keysRead: null);

    /// <summary>
    /// As <see cref="Load(CommandLineValues)"/>, adding each configuration key it reads to
    /// <paramref name="keysRead"/> (a listener's as <c>Listeners:NAME:Endpoint</c>): how the man
    /// page's drift test learns the keys from the code rather than from a list kept by hand.
    /// </summary>
    internal static ServerSettings Load(CommandLineValues given, ISet<string>? keysRead)
    {
        given = given with
        {
            WorkingDirectory = given.WorkingDirectory ?? Directory.GetCurrentDirectory(),
            ConfigFile = Absolute(given.ConfigFile),
        };
        var configuration = Build(given);
        string fileDirectory = given.ConfigFile is null ? given.WorkingDirectory! : Path.GetDirectoryName(given.ConfigFile)!;

        bool listenersTyped = given.Port is not null || given.Listen.Count > 0;
        var listeners = listenersTyped ? TypedListeners(given) : FileListeners(configuration, fileDirectory, keysRead);
        if (listeners.Count == 0)
        {
            if (given.ConfigFile is null)
                throw new UsageException("nothing to serve: give a PORT or at least one --listen");
            throw new ConfigException($"config file {given.ConfigFile} has no Listeners (and no --listen was given): nothing to serve");
        }

        var value = new ValueSource(configuration, given.WorkingDirectory!, fileDirectory, keysRead);
        string levelText = value.Text("Logging:Level", given.LogLevel) ?? "info";
        if (!LogLevelNames.TryParse(levelText, out var level))
        {
            throw given.LogLevel is not null
                ? new UsageException($"unknown log level '{levelText}' (use {string.Join(", ", LogLevelNames.All)})")
                : Invalid("Logging:Level", levelText, $"unknown log level (use {string.Join(", ", LogLevelNames.All)})");
        }

        if (given.LogFile is not null && given.LogDirectory is not null)
            throw new UsageException("--log-file and --log-dir exclude each other");
        // A target typed on the command line replaces the file's, whichever kind it is.
        string? logFile = given.LogDirectory is null ? value.Path("Logging:File", given.LogFile) : null;
        string? logDir = given.LogFile is null ? value.Path("Logging:Directory", given.LogDirectory) : null;
        var logging = (logFile, logDir) switch
        {
            (not null, not null) => throw new ConfigException("config keys Logging:File and Logging:Directory exclude each other"),
            (not null, null) => new LogSettings(level, LogTargetKind.File, logFile),
            (null, not null) => new LogSettings(level, LogTargetKind.FilePerLevel, logDir),
            _ => LogSettings.ConsoleAt(level),
        };
        // Blank is not set, as for Logging:File.
        string? openLines = value.Text("Logging:OpenLines", null);
        if (!string.IsNullOrWhiteSpace(openLines))
        {
            if (!OptionReader.TryParseSwitch(openLines, out bool on))
                throw Invalid("Logging:OpenLines", openLines, OptionReader.SwitchRule);
            logging = logging with { OpenLines = on };
        }

        string timeoutText = value.Text("ShutdownTimeout", given.ShutdownTimeout) ?? "5";
        if (!TryParseShutdownTimeout(timeoutText, out var shutdownTimeout))
        {
            throw given.ShutdownTimeout is not null
                ? new UsageException($"--shutdown-timeout '{timeoutText}': {ShutdownTimeoutRule}")
                : Invalid("ShutdownTimeout", timeoutText, ShutdownTimeoutRule);
        }

        string? metricsText = value.Text("Metrics:Endpoint", given.Metrics);
        var metrics = MetricsAddress.Parse(metricsText, out string? metricsError);
        if (metricsError is not null)
        {
            throw given.Metrics is not null
                ? new UsageException($"--metrics '{metricsText}': {metricsError}; {MetricsAddress.Rule}")
                : Invalid("Metrics:Endpoint", metricsText!, $"{metricsError}; {MetricsAddress.Rule}");
        }

        return new ServerSettings(listeners, logging, shutdownTimeout)
        {
            Metrics = metrics,
            PidFile = value.Path("PidFile", given.PidFile),
            ConfigFile = given.ConfigFile,
            Source = given,
        };
    }

    public static bool TryParseShutdownTimeout(string text, out TimeSpan timeout)
    {
        bool valid = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
            && !double.IsNaN(seconds) && seconds is >= 0 and <= 3600;
        timeout = valid ? TimeSpan.FromSeconds(seconds) : default;
        return valid;
    }

    /// <summary>Top-level values: from the command line (relative to the working directory) or the file and environment.</summary>
    private sealed class ValueSource(IConfiguration configuration, string workingDirectory, string fileDirectory, ISet<string>? keysRead)
    {
        public string? Text(string key, string? typed)
        {
            keysRead?.Add(key);
            return typed ?? configuration[key];
        }

        public string? Path(string key, string? typed)
        {
            keysRead?.Add(key);
            if (typed is not null)
                return System.IO.Path.GetFullPath(typed, workingDirectory);
            string? written = configuration[key];
            return string.IsNullOrWhiteSpace(written) ? null : System.IO.Path.GetFullPath(written, fileDirectory);
        }
    }

    private static IConfigurationRoot Build(CommandLineValues given)
    {
        var builder = new ConfigurationBuilder();
        if (given.ConfigFile is not null)
        {
            if (Directory.Exists(given.ConfigFile))
                throw new ConfigException($"cannot read config file {given.ConfigFile}: it is a directory");
            builder.AddJsonFile(given.ConfigFile, optional: false, reloadOnChange: false);
        }
        builder.AddEnvironmentVariables(EnvironmentPrefix);
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
        catch (Exception ex) when (ex is InvalidDataException or FormatException
            && DuplicateKey().Match(ex.GetBaseException().Message) is { Success: true } duplicate)
        {
            throw new ConfigException($"config file {given.ConfigFile}: key {duplicate.Groups[1].Value} is given twice "
                + "(keys are case-insensitive: \"e\" and \"E\" are the same key)");
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or System.Text.Json.JsonException)
        {
            // The JSON parser's message names the line and position of the mistake.
            string detail = ex.GetBaseException().Message.ReplaceLineEndings(" ");
            throw new ConfigException($"config file {given.ConfigFile}: not valid JSON: {detail}");
        }
    }

    [GeneratedRegex("duplicate key '([^']*)'", RegexOptions.IgnoreCase)]
    private static partial Regex DuplicateKey();

    /// <summary>PORT and --listen: parsed, paths made absolute, every key checked; a mistake is a usage error.</summary>
    private static List<ListenerSettings> TypedListeners(CommandLineValues given)
    {
        var specs = new List<ListenerSpec>();
        if (given.Port is { } port)
        {
            if (port.StartsWith('-'))
                throw new UsageException($"unknown option '{port}'");
            if (!PortNumber.TryParse(port, minimum: 0, out int number))
                throw new UsageException($"PORT '{port}' is not a number from 0 to {PortNumber.Max}");
            specs.Add(new ListenerSpec(null, number, ListenerSpec.DefaultService));
        }
        foreach (string text in given.Listen)
        {
            if (!ListenerSpec.TryParse(text, out var spec, out string error))
                throw new UsageException(error);
            specs.Add(spec!);
        }
        var listeners = new List<ListenerSettings>();
        foreach (var spec in specs)
        {
            try
            {
                listeners.Add(ListenerSettings.From(WithAbsolutePaths(spec, given.WorkingDirectory!)));
            }
            catch (ServiceOptionException ex)
            {
                throw ex.AboutTheSystem ? new ConfigException(ex.Message) : new UsageException(ex.Message);
            }
        }
        return listeners;
    }

    /// <summary>
    /// Listeners:NAME:{Endpoint, Service, Options:{...}}; the name is the section key. Any other
    /// key of the listener object is an option too, so listener-level keys can be written where
    /// they belong ("MaxConnections": 100, "Allow": ["10.0.0.0/8"]). A JSON array becomes the
    /// ';'-separated list the command line uses; an object where a value belongs is a mistake.
    /// </summary>
    private static List<ListenerSettings> FileListeners(IConfiguration configuration, string baseDirectory, ISet<string>? keysRead)
    {
        foreach (string part in new[] { "Endpoint", "Service", "Options" })
            keysRead?.Add($"Listeners:NAME:{part}");
        var listeners = new List<ListenerSettings>();
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
                string text = ValueOf(path, option);
                if (!options.TryAdd(option.Key, text))
                    throw Invalid(path, text, $"{option.Key} is given twice (in the listener and under its Options)");
            }
            try
            {
                listeners.Add(ListenerSettings.From(WithAbsolutePaths(spec! with { Name = section.Key, Options = options }, baseDirectory)));
            }
            catch (ServiceOptionException ex)
            {
                throw new ConfigException($"config key {key}: {ex.Message}");
            }
        }
        return listeners;
    }

    /// <summary>A value, or a list (JSON array) joined with ';'; an object has no meaning as an option.</summary>
    private static string ValueOf(string path, IConfigurationSection option)
    {
        if (option.Value is { } value)
            return value;
        var items = option.GetChildren().ToList();
        bool isList = items.Select((item, index) => item.Key == index.ToString(CultureInfo.InvariantCulture) && item.Value is not null).All(ok => ok);
        if (!isList)
            throw Invalid(path, "{...}", "expected a value or a list of values, not an object");
        return string.Join(';', items.Select(item => item.Value));
    }

    /// <summary>
    /// File options (cert, key, clientCa, a sink's path, a unix: socket) made absolute: relative to the config
    /// file's directory, or to the working directory on the command line; a daemon reloads after
    /// its chdir("/") and must read the same files.
    /// </summary>
    private static ListenerSpec WithAbsolutePaths(ListenerSpec spec, string baseDirectory)
    {
        if (!ServiceCatalog.IsKnown(spec.Service))
            return spec;
        if (spec.Path is { } socketPath && !socketPath.StartsWith('@'))
            spec = spec with { Path = Path.GetFullPath(socketPath, baseDirectory) };
        var serviceKeys = ServiceCatalog.Find(spec.Service).PathKeys;
        bool IsPath(string key) => ListenerPolicy.PathKeys.Contains(key) || serviceKeys.Contains(key);
        if (!spec.Options.Keys.Any(IsPath))
            return spec;
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in spec.Options)
            options[key] = IsPath(key) && !string.IsNullOrWhiteSpace(value) ? Path.GetFullPath(value.Trim(), baseDirectory) : value;
        return spec with { Options = options };
    }

    private static string? Absolute(string? path) => path is null ? null : Path.GetFullPath(path);

    private static ConfigException Invalid(string key, string value, string problem) =>
        new($"config key {key} = '{value}': {problem}");
}
