using System.Globalization;
using System.Net;
using Ferry.Platform.Net;

namespace Ferry.Daemon.Services.Exec;

/// <summary>
/// The environment a program gets, and nothing else of ferryd's: PATH, LANG and TZ as ferryd has
/// them, USER, LOGNAME and HOME when it runs as user=, what env= adds (which may replace those),
/// and the connection as ucspi-tcp's tcpserver and systemd's Accept=yes name it (ucspi-unix's
/// names on a unix: listener: PROTO=UNIX and the peer's pid, uid and gid).
/// </summary>
internal sealed class ChildEnvironment
{
    private const string FallbackPath = "/usr/local/bin:/usr/bin:/bin";
    private static readonly string[] Inherited = ["PATH", "LANG", "TZ"];

    private readonly string[] _fixed;

    public ChildEnvironment(ExecOptions options)
    {
        var set = options.ExtraEnvironment.Select(v => v[..v.IndexOf('=')]).ToHashSet(StringComparer.Ordinal);
        var fixedPart = new List<string>();
        foreach (string name in Inherited)
        {
            string? value = Environment.GetEnvironmentVariable(name) ?? (name == "PATH" ? FallbackPath : null);
            if (value is not null && !set.Contains(name))
                fixedPart.Add($"{name}={value}");
        }
        if (options.Account?.User is { } user)
        {
            foreach (var (name, value) in new[] { ("USER", user.Name), ("LOGNAME", user.Name), ("HOME", user.Home) })
            {
                if (!set.Contains(name))
                    fixedPart.Add($"{name}={value}");
            }
        }
        fixedPart.AddRange(options.ExtraEnvironment);
        _fixed = fixedPart.ToArray();
    }

    /// <summary>The whole environment for a client at <paramref name="remote"/> that connected to <paramref name="local"/>.</summary>
    public IReadOnlyList<string> For(EndPoint? client, EndPoint? server)
    {
        var variables = new List<string>(_fixed.Length + 7);
        variables.AddRange(_fixed);
        if (client is Transport.UnixPeer unix)
        {
            variables.Add("PROTO=UNIX");
            variables.Add($"UNIXREMOTEPID={unix.Credentials.ProcessId.ToString(CultureInfo.InvariantCulture)}");
            variables.Add($"UNIXREMOTEEUID={unix.Credentials.UserId.ToString(CultureInfo.InvariantCulture)}");
            variables.Add($"UNIXREMOTEEGID={unix.Credentials.GroupId.ToString(CultureInfo.InvariantCulture)}");
            return variables;
        }
        var remote = client as IPEndPoint;
        var local = server as IPEndPoint;
        variables.Add("PROTO=TCP");
        if (remote is not null)
        {
            string address = EndpointText.Unmapped(remote.Address).ToString();
            string port = remote.Port.ToString(CultureInfo.InvariantCulture);
            variables.Add($"TCPREMOTEIP={address}");
            variables.Add($"TCPREMOTEPORT={port}");
            variables.Add($"REMOTE_ADDR={address}");
            variables.Add($"REMOTE_PORT={port}");
        }
        if (local is not null)
        {
            variables.Add($"TCPLOCALIP={EndpointText.Unmapped(local.Address)}");
            variables.Add($"TCPLOCALPORT={local.Port.ToString(CultureInfo.InvariantCulture)}");
        }
        return variables;
    }
}
