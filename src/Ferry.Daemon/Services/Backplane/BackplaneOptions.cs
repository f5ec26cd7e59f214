using Ferry.Daemon.Listeners;
using StackExchange.Redis;

namespace Ferry.Daemon.Services.Backplane;

/// <summary>
/// <c>backplane=redis://[:PASSWORD@]HOST:PORT[/DB]</c> (<c>rediss://</c> for TLS, or a
/// StackExchange.Redis configuration string) and <c>cluster=NAME</c>: chat and broker listeners
/// with the same cluster on the same Redis are one hub, whichever ferryd they are on.
/// </summary>
internal sealed record BackplaneOptions(string Redis, string Cluster, ConfigurationOptions Configuration, TimeSpan Heartbeat)
{
    public const int MaxBufferedLines = 10_000;
    public const long MaxBufferedBytes = 16 * 1024 * 1024;

    /// <summary>Null when the listener has no backplane.</summary>
    public static BackplaneOptions? Read(OptionReader reader)
    {
        string? cluster = reader.Text("cluster");
        double heartbeat = reader.Number("heartbeat", 5, 1, 60);
        string? text = reader.Text("backplane");
        if (string.IsNullOrWhiteSpace(text))
        {
            if (cluster is not null)
                throw reader.Problem("cluster= needs backplane=redis://HOST:PORT");
            return null;
        }
        text = text.Trim();
        ConfigurationOptions configuration;
        try
        {
            configuration = text.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase)
                ? FromUri(text)
                : ConfigurationOptions.Parse(text);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException)
        {
            throw reader.Bad("backplane", text, $"not a Redis address ({ex.Message.TrimEnd('.')}); give redis://HOST:PORT[/DB]");
        }
        if (configuration.EndPoints.Count == 0)
            throw reader.Bad("backplane", text, "names no Redis server; give redis://HOST:PORT[/DB]");
        // ferryd buffers and retries itself: the client must fail fast while Redis is away, not queue.
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ReconnectRetryPolicy = new ExponentialRetry(250, 5000);
        configuration.ConnectTimeout = 3000;
        configuration.AsyncTimeout = 3000;
        configuration.ClientName = "ferryd";
        cluster = string.IsNullOrWhiteSpace(cluster) ? reader.Spec.Name ?? $"{reader.Spec.Service}-{(reader.Spec.Path ?? reader.Spec.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))}" : cluster.Trim();
        if (cluster.Any(c => char.IsWhiteSpace(c) || c is '*' or '?' or '[' or ']'))
            throw reader.Bad("cluster", cluster, "a name without spaces or * ? [ ]");
        return new BackplaneOptions(text, cluster, configuration, TimeSpan.FromSeconds(heartbeat));
    }

    private static ConfigurationOptions FromUri(string text)
    {
        var uri = new Uri(text);
        if (uri.Port <= 0 || string.IsNullOrEmpty(uri.Host))
            throw new FormatException("HOST:PORT is missing");
        var configuration = new ConfigurationOptions { Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase) };
        configuration.EndPoints.Add(uri.Host.Trim('[', ']'), uri.Port);
        string path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, out int database) || database < 0)
                throw new FormatException($"database '{path}' is not a number");
            configuration.DefaultDatabase = database;
        }
        if (uri.UserInfo.Length > 0)
        {
            string[] parts = Uri.UnescapeDataString(uri.UserInfo).Split(':', 2);
            if (parts.Length == 2)
            {
                if (parts[0].Length > 0)
                    configuration.User = parts[0];
                configuration.Password = parts[1];
            }
            else
            {
                configuration.Password = parts[0];
            }
        }
        return configuration;
    }

    /// <summary>Where the listener's lines go: the address without its password, and the hub.</summary>
    public override string ToString() => $"{string.Join(",", Configuration.EndPoints)} cluster {Cluster}";
}
