using System.Text.RegularExpressions;
using Ferry.Daemon.Listeners;
using Ferry.Platform.Linux;

namespace Ferry.Daemon.Services.Exec;

/// <summary>What exec does with a program's standard error.</summary>
internal enum StderrMode
{
    /// <summary>Each line logged at Warning, escaped and truncated like peer text, rate-limited.</summary>
    Log,

    /// <summary>Merged into the client's stream, like standard output.</summary>
    Socket,

    /// <summary>/dev/null.</summary>
    Null,
}

/// <summary>The account a program runs as (user=, group=): started through setpriv, which sets the ids and groups before exec.</summary>
internal sealed record ChildAccount(string SwitcherPath, uint? UserId, uint GroupId, UserAccount? User)
{
    /// <summary>setpriv's arguments before the program's own.</summary>
    public IReadOnlyList<string> SwitcherArguments() =>
    [
        SwitcherPath,
        .. UserId is uint uid ? new[] { $"--reuid={uid}" } : [],
        $"--regid={GroupId}",
        // A named user gets its own supplementary groups; a group alone gets none of root's.
        User is not null && UserId is not null ? "--init-groups" : "--clear-groups",
        "--",
    ];
}

/// <summary>An exec listener's options (docs/services.md, "exec").</summary>
internal sealed partial record ExecOptions(
    string Command,
    IReadOnlyList<string> Arguments,
    string Directory,
    IReadOnlyList<string> ExtraEnvironment,
    ChildAccount? Account,
    int MaxChildren,
    TimeSpan Timeout,
    TimeSpan KillGrace,
    StderrMode Stderr)
{
    public const int DefaultMaxChildren = 40;
    public static readonly TimeSpan DefaultKillGrace = TimeSpan.FromSeconds(5);

    /// <summary>The variables exec sets for each connection: env= may not set them.</summary>
    public static readonly IReadOnlySet<string> ConnectionVariables = new HashSet<string>(StringComparer.Ordinal)
        { "PROTO", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT", "REMOTE_ADDR", "REMOTE_PORT" };

    private static readonly string[] SwitcherPlaces = ["/usr/bin/setpriv", "/bin/setpriv"];

    public static ExecOptions Read(OptionReader reader)
    {
        string command = reader.Text("cmd") is { Length: > 0 } cmd ? cmd : throw reader.Problem("exec needs cmd=PROGRAM (an absolute path)");
        if (!Path.IsPathFullyQualified(command))
            throw reader.Bad("cmd", command, "give the program's absolute path (no shell and no PATH search is involved)");
        if (ProgramCheck.Problem(command) is { } problem)
            throw reader.Unusable("cmd", command, problem);
        var arguments = reader.List("args");
        string directory = reader.Text("dir") is { Length: > 0 } dir ? dir : "/";
        if (!Path.IsPathFullyQualified(directory))
            throw reader.Bad("dir", directory, "give an absolute directory");
        if (!System.IO.Directory.Exists(directory))
            throw reader.Unusable("dir", directory, "no such directory");
        var environment = ReadEnvironment(reader);
        var account = ReadAccount(reader);
        int maxChildren = (int)reader.Integer("maxChildren", DefaultMaxChildren, 1, 100_000);
        var timeout = reader.Seconds("timeout", TimeSpan.Zero, allowZero: true);
        var killGrace = reader.Seconds("killGrace", DefaultKillGrace, allowZero: true);
        var stderr = reader.Choice("stderr", StderrMode.Log, ("log", StderrMode.Log), ("socket", StderrMode.Socket), ("null", StderrMode.Null));
        return new ExecOptions(command, arguments, directory, environment, account, maxChildren, timeout, killGrace, stderr);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex VariableName();

    private static List<string> ReadEnvironment(OptionReader reader)
    {
        var variables = new List<string>();
        foreach (string entry in reader.List("env"))
        {
            int equals = entry.IndexOf('=');
            string name = equals < 0 ? entry : entry[..equals];
            if (equals < 0 || !VariableName().IsMatch(name))
                throw reader.Bad("env", entry, "give NAME=VALUE;... with NAME of letters, digits and _");
            if (ConnectionVariables.Contains(name))
                throw reader.Bad("env", entry, $"{name} describes the connection and is set by exec itself");
            variables.Add(entry);
        }
        return variables;
    }

    private static ChildAccount? ReadAccount(OptionReader reader)
    {
        string? userName = reader.Text("user") is { Length: > 0 } u ? u : null;
        string? groupName = reader.Text("group") is { Length: > 0 } g ? g : null;
        if (userName is null && groupName is null)
            return null;
        string key = userName is not null ? "user" : "group";
        string value = userName ?? groupName!;
        if (!Environment.IsPrivilegedProcess)
            throw reader.Unusable(key, value, "only ferryd running as root can run a program as another user or group");
        string switcher = SwitcherPlaces.FirstOrDefault(File.Exists)
            ?? throw reader.Unusable(key, value, "needs setpriv (Debian package util-linux) at /usr/bin/setpriv");
        UserAccount? user = null;
        if (userName is not null)
            user = Accounts.User(userName, out string? why) ?? throw reader.Unusable("user", userName, why!);
        uint? groupId = null;
        if (groupName is not null)
            groupId = Accounts.Group(groupName, out string? why) ?? throw reader.Unusable("group", groupName, why!);
        return new ChildAccount(switcher, user?.Id, groupId ?? user!.GroupId, user);
    }
}
