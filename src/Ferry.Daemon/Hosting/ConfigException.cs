namespace Ferry.Daemon.Hosting;

/// <summary>A configuration file or value that cannot be used; one line, exit code 6.</summary>
internal sealed class ConfigException(string message) : Exception(message);
