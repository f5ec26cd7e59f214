using System.CommandLine;
using Microsoft.Extensions.Configuration;

namespace Ferry.Daemon.Hosting;

/// <summary>
/// How "ferryd stop|status|reload" find the daemon's pid file: --pid-file, else the PidFile
/// setting from FERRY_PidFile or the --config file (relative to that file's directory, as
/// the daemon itself reads it), else <see cref="PidFile.DefaultPath"/>. Only that one key is
/// read: stopping a daemon must not depend on the rest of a file that may have been edited
/// since the daemon read it. One instance per command, as a System.CommandLine symbol belongs to one.
/// </summary>
internal sealed class PidFileOptions
{
    private const string Key = "PidFile";

    private readonly Option<string?> _pidFile = ServerOptions.PidFileOption();

    private readonly Option<string?> _config = new("--config", "-c")
    {
        Description = "Find the pid file from this JSON file's PidFile, as the daemon does (FERRY_PidFile and --pid-file override it).",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_pidFile);
        command.Options.Add(_config);
    }

    /// <summary>The absolute path of the pid file these options name.</summary>
    public string Resolve(ParseResult result)
    {
        if (result.GetValue(_pidFile) is { } given)
            return Path.GetFullPath(given);
        string? configFile = result.GetValue(_config) is { } file ? Path.GetFullPath(file) : null;
        string? configured = Read(configFile)[Key];
        if (string.IsNullOrWhiteSpace(configured))
            return PidFile.DefaultPath();
        string baseDirectory = configFile is null ? Directory.GetCurrentDirectory() : Path.GetDirectoryName(configFile)!;
        return Path.GetFullPath(configured, baseDirectory);
    }

    private static IConfigurationRoot Read(string? configFile)
    {
        var builder = new ConfigurationBuilder();
        if (configFile is not null)
        {
            if (Directory.Exists(configFile))
                throw new ConfigException($"cannot read config file {configFile}: it is a directory");
            builder.AddJsonFile(configFile, optional: false, reloadOnChange: false);
        }
        builder.AddEnvironmentVariables(SettingsLoader.EnvironmentPrefix);
        try
        {
            return builder.Build();
        }
        catch (FileNotFoundException)
        {
            throw new ConfigException($"cannot read config file {configFile}: no such file");
        }
        catch (UnauthorizedAccessException)
        {
            throw new ConfigException($"cannot read config file {configFile}: permission denied");
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or System.Text.Json.JsonException)
        {
            // The JSON parser's message names the line and position of the mistake.
            throw new ConfigException($"config file {configFile}: not valid JSON: {ex.GetBaseException().Message.ReplaceLineEndings(" ")}");
        }
    }
}
